import sys
from pathlib import Path

ENTRYPOINT = Path(__file__).resolve().parents[2] / "docker" / "entrypoint"
if str(ENTRYPOINT) not in sys.path:
    sys.path.insert(0, str(ENTRYPOINT))
