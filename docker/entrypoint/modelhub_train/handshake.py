"""How the nodes of a multi-node EasyR1 job coordinate through the job's checkpoint prefix in S3.

Only the Ray head (master) runs the trainer; FSDP shards of the final checkpoint land on every
node's local disk. To export a Hugging Face model the master needs all of them:
  1. master: puts COLLECT (content: the checkpoint folder name, e.g. global_step_40)
  2. each worker: uploads its local part of that folder under collected/<folder>/, then puts uploaded-<host>
  3. master: waits for every worker, downloads collected/<folder>/ over its own copy, merges, uploads
  4. master: puts DONE (also after a failure); workers stop Ray and exit
Keys live under handshake/<run id>/: the master writes a fresh run id to RUN before it starts the
Ray head, and workers read it after joining, so markers of an earlier attempt (spot restart) never count.
"""

RUN = ".modelhub-run"

DONE = ".modelhub-done"
COLLECT = ".modelhub-collect"


def uploaded(host: str) -> str:
    return f".modelhub-uploaded-{host}"


def collected_prefix(folder: str) -> str:
    return f"collected/{folder}/"


def missing_uploads(hosts, master: str, uploaded_hosts) -> list[str]:
    return [h for h in hosts if h != master and h not in set(uploaded_hosts)]


def coordination_prefix(run_id: str) -> str:
    return f"handshake/{run_id}/"
