"""Peak memory of a piece of code, measured in a fresh process so nothing else in the test run counts.

`peak_growth_mb(setup, action)` runs `setup` (imports, fixtures), notes the process's peak resident size,
runs `action`, and answers how far the peak grew, in MB. The peak (ru_maxrss) is what the kernel saw at
the worst moment, so a value built and thrown away inside `action` still counts.
"""

import json
import os
import subprocess
import sys
import textwrap

from tests.stack import ROOT

_PROGRAM = """
import json, resource, sys
import django
django.setup()
{setup}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = None
{action}
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("MEASURED " + json.dumps({{"growth_mb": (after - before) / 1024, "result": result}}, default=str))
"""


def peak_growth_mb(setup: str, action: str, **env) -> tuple[float, object]:
    """(peak growth in MB, whatever `action` assigned to `result`)."""
    program = _PROGRAM.format(setup=textwrap.dedent(setup), action=textwrap.dedent(action))
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "modelhub.test_settings", **env}
    out = subprocess.run([sys.executable, "-c", program], cwd=ROOT, env=environment, capture_output=True,
                         text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(line for line in out.stdout.splitlines() if line.startswith("MEASURED "))
    measured = json.loads(line.removeprefix("MEASURED "))
    return measured["growth_mb"], measured["result"]
