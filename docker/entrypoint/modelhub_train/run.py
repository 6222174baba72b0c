"""The training container's main: fetch the staged bundle, data and models, train (single- or
multi-node), keep checkpoints resumable, merge, upload.

Environment (set by the platform on CreateTrainingJob):
  MODELHUB_CONFIG_URI      s3:// prefix of the rendered bundle (job.json, train/merge configs, ...)
  MODELHUB_CHECKPOINT_URI  the job's CheckpointConfig.S3Uri (used for multi-node completion signals, and
                           for syncing when SageMaker's managed checkpoint sync is not configured)
  MODELHUB_SECRETS_ARN     the job's Secrets Manager secret: WANDB_API_KEY / SWANLAB_API_KEY / HF_TOKEN as the
                           manifest's secret_env / optional_env say; read at start, passed only to the tool
                           subprocesses, never logged (job_secrets.py)
SageMaker sets SM_HOSTS, SM_CURRENT_HOST, SM_TRAINING_ENV, SM_NETWORK_INTERFACE_NAME.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from pathlib import Path

from . import checkpoints, commands, datasets, handshake, hosts, job_secrets, plan, s3sync

CONFIG_DIR = "/opt/ml/input/config/modelhub"  # where the bundle lands (MODELHUB_CONFIG_DIR overrides)
SAGEMAKER_CHECKPOINT_CONFIG = "/opt/ml/input/config/checkpointconfig.json"
FAILURE_FILE = "/opt/ml/output/failure"  # SageMaker shows its content as the job's FailureReason
WATCH_SECONDS = 30
POLL_SECONDS = 15
COLLECT_TIMEOUT = 30 * 60
RAY_JOIN_ATTEMPTS, RAY_JOIN_WAIT = 60, 20


class JobFailed(Exception):
    pass


def log(message: str) -> None:
    print(f"[modelhub] {message}", flush=True)


# Processes ---------------------------------------------------------------------------------------

_children: list[subprocess.Popen] = []


def _forward_signal(signum, _frame):
    for child in list(_children):
        if child.poll() is None:
            try:
                os.killpg(child.pid, signum)
            except ProcessLookupError:
                pass


def run(argv: list[str], *, env: dict | None = None, cwd: str | None = None, tail: int = 30) -> tuple[int, list[str]]:
    """Run argv (no shell), echo its output, return (exit code, last lines)."""
    log("running " + " ".join(argv[:3]) + (" ..." if len(argv) > 3 else ""))
    last = collections.deque(maxlen=tail)
    child = subprocess.Popen(argv, env={**os.environ, **(env or {})}, cwd=cwd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True)
    _children.append(child)
    try:
        for line in child.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            last.append(line.rstrip())
        return child.wait(), list(last)
    finally:
        _children.remove(child)


def run_or_fail(argv, what: str, **kwargs) -> None:
    code, last = run(argv, **kwargs)
    if code != 0:
        raise JobFailed(f"{what} exited with code {code}: " + " | ".join(line for line in last[-5:] if line))


# Steps -------------------------------------------------------------------------------------------


def fetch_bundle(config_uri: str, config_dir: str) -> dict:
    s3sync.download_prefix(config_uri, config_dir)
    return json.loads(Path(config_dir, "job.json").read_text())


def prepare_datasets(manifest: dict) -> None:
    paths = manifest["paths"]
    rendered = json.loads(Path(paths["config_dir"], "dataset_info.json").read_text())
    builtins = manifest.get("builtin_datasets") or []
    builtin_info = {}
    if builtins:
        lf_data = Path(paths["llamafactory_root"], "data")
        builtin_info = json.loads((lf_data / "dataset_info.json").read_text())
    info = datasets.with_builtins(rendered, builtin_info, builtins, f"{paths['llamafactory_root']}/data")
    Path(paths["data_dir"]).mkdir(parents=True, exist_ok=True)
    Path(paths["data_dir"], "dataset_info.json").write_text(json.dumps(info, indent=2))


def choose_resume(manifest: dict, node: hosts.Node) -> str | None:
    root, pattern = manifest["checkpoint_root"], manifest["checkpoint_pattern"]
    resume = checkpoints.plan_resume(checkpoints.scan(root, pattern), node.hosts, pattern)
    for name in resume.discard:
        log(f"discarding incomplete checkpoint {name}")
        shutil.rmtree(Path(root, name), ignore_errors=True)
    if resume.resume_from:
        log(f"resuming from {resume.resume_from}")
        return str(Path(root, resume.resume_from))
    uri = manifest.get("resume_from_checkpoint")
    if uri:
        dest = Path(manifest["paths"]["resume_dir"], uri.rstrip("/").rsplit("/", 1)[-1])
        s3sync.download_prefix(uri, dest)
        log(f"starting from the given checkpoint {dest.name}")
        return str(dest)
    return None


class Watcher(threading.Thread):
    """Marks this node's finished checkpoints; syncs to S3 itself when SageMaker does not."""

    def __init__(self, manifest: dict, node: hosts.Node, sync_uri: str | None):
        super().__init__(daemon=True)
        self.manifest, self.node, self.sync_uri = manifest, node, sync_uri
        self.stopping = threading.Event()
        self.sent: dict = {}

    def run(self):
        while not self.stopping.wait(WATCH_SECONDS):
            self.tick(training_succeeded=False)

    def tick(self, training_succeeded: bool) -> None:
        root, pattern = self.manifest["checkpoint_root"], self.manifest["checkpoint_pattern"]
        found = checkpoints.scan(root, pattern)
        marker = checkpoints.marker_name(self.node.current_host)
        for index, checkpoint in enumerate(found):
            if marker in checkpoint.files:
                continue
            if checkpoints.ready_to_mark(checkpoint, index < len(found) - 1, training_succeeded, time.time(),
                                         is_master=self.node.is_master, pattern=pattern):
                Path(root, checkpoint.name, marker).touch()
        if self.sync_uri:
            s3sync.upload_dir(self.manifest["paths"]["checkpoint_dir"], self.sync_uri, skip=self.sent)

    def finish(self, training_succeeded: bool) -> None:
        self.stopping.set()
        self.join(timeout=WATCH_SECONDS * 2)
        self.tick(training_succeeded)


def train_llamafactory(manifest: dict, node: hosts.Node, resume_from: str | None, secret_env: dict | None = None) -> None:
    paths = manifest["paths"]
    env = {**hosts.network_env(node), **hosts.torchrun_env(node), **(secret_env or {})}
    argv = commands.llamafactory_train(f"{paths['config_dir']}/{manifest['train_config']}", resume_from,
                                       manifest.get("overrides", ()))
    run_or_fail(argv, "LLaMA-Factory training", env=env, cwd=paths["llamafactory_root"])


def start_ray_cluster(manifest: dict, node: hosts.Node, checkpoint_uri: str | None,
                      secret_env: dict | None = None) -> str:
    """The master of a multi-node EasyR1 job: a fresh run id, the Ray head, every worker joined.
    Returns the S3 prefix the nodes coordinate through."""
    if not checkpoint_uri:
        raise JobFailed("Multi-node EasyR1 needs MODELHUB_CHECKPOINT_URI to coordinate its nodes.")
    run_id = uuid.uuid4().hex
    s3sync.put_text(s3sync.join_uri(checkpoint_uri, handshake.RUN), run_id)
    run_or_fail(commands.ray_head(hosts.RAY_PORT, manifest["gpus_per_node"]), "ray start --head",
                env={**hosts.network_env(node), **(secret_env or {})})
    _wait_for_ray_nodes(node.nnodes)
    return s3sync.join_uri(checkpoint_uri, handshake.coordination_prefix(run_id))


def train_easyr1(manifest: dict, node: hosts.Node, resume_from: str | None, checkpoint_uri: str | None,
                 secret_env: dict | None = None) -> None:
    env = {**hosts.network_env(node), **(secret_env or {})}  # Ray actors inherit the env of `ray start`
    if node.nnodes > 1 and not node.is_master:
        if not checkpoint_uri:
            raise JobFailed("Multi-node EasyR1 needs MODELHUB_CHECKPOINT_URI to coordinate its nodes.")
        join_ray_and_serve(manifest, node, checkpoint_uri, env)
        return
    paths = manifest["paths"]
    argv = commands.easyr1_train(f"{paths['config_dir']}/{manifest['train_config']}", resume_from,
                                 overrides=manifest.get("overrides", ()))
    run_or_fail(argv, "EasyR1 training", env=env, cwd=paths["easyr1_root"])


def join_ray_and_serve(manifest: dict, node: hosts.Node, checkpoint_uri: str, env: dict) -> None:
    """A worker node: join the Ray head, hand over its checkpoint shards when asked, stop when told."""
    for _ in range(RAY_JOIN_ATTEMPTS):
        if run(commands.ray_worker(node.master_addr, hosts.RAY_PORT, manifest["gpus_per_node"]), env=env)[0] == 0:
            break
        time.sleep(RAY_JOIN_WAIT)
    else:
        raise JobFailed(f"Could not join the Ray head at {node.master_addr}.")
    run_id = s3sync.get_text(s3sync.join_uri(checkpoint_uri, handshake.RUN)).strip()
    coordination = s3sync.join_uri(checkpoint_uri, handshake.coordination_prefix(run_id))
    sent, misses = False, 0
    while misses < 3:  # the master says when it is done; if the Ray head is gone for good, stop too
        time.sleep(POLL_SECONDS)
        if s3sync.exists(s3sync.join_uri(coordination, handshake.DONE)):
            break
        collect = s3sync.join_uri(coordination, handshake.COLLECT)
        if not sent and s3sync.exists(collect):
            folder = s3sync.get_text(collect).strip()
            local = Path(manifest["checkpoint_root"], folder)
            if local.is_dir():
                count = s3sync.upload_dir(local, s3sync.join_uri(coordination, handshake.collected_prefix(folder)))
                log(f"handed {count} files of {folder} to the master")
            s3sync.put_text(s3sync.join_uri(coordination, handshake.uploaded(node.current_host)), folder)
            sent = True
        misses = misses + 1 if run(["ray", "status"], tail=1)[0] != 0 else 0
    run(commands.ray_stop())


def collect_shards(manifest: dict, node: hosts.Node, coordination: str, folder: str) -> None:
    """The master: gather every worker's part of checkpoint `folder` into the local copy."""
    s3sync.put_text(s3sync.join_uri(coordination, handshake.COLLECT), folder)
    deadline = time.time() + COLLECT_TIMEOUT
    while True:
        done = [h for h in node.hosts if s3sync.exists(s3sync.join_uri(coordination, handshake.uploaded(h)))]
        missing = handshake.missing_uploads(node.hosts, node.current_host, done)
        if not missing:
            break
        if time.time() > deadline:
            raise JobFailed(f"Nodes {', '.join(missing)} did not hand over their part of {folder}.")
        time.sleep(POLL_SECONDS)
    s3sync.download_prefix(s3sync.join_uri(coordination, handshake.collected_prefix(folder)),
                           Path(manifest["checkpoint_root"], folder))


def _wait_for_ray_nodes(count: int, timeout: int = RAY_JOIN_ATTEMPTS * RAY_JOIN_WAIT) -> None:
    probe = [sys.executable, "-c", "import ray; ray.init(address='auto', logging_level='ERROR');"
             "print(sum(1 for n in ray.nodes() if n['Alive']))"]
    deadline = time.time() + timeout
    while time.time() < deadline:
        code, last = run(probe, tail=1)
        if code == 0 and last and last[-1].strip().isdigit() and int(last[-1]) >= count:
            return
        time.sleep(RAY_JOIN_WAIT)
    raise JobFailed(f"Only some of the {count} nodes joined the Ray cluster.")


def finish(manifest: dict, node: hosts.Node, coordination: str | None = None, secret_env: dict | None = None) -> None:
    steps = plan.finish_plan(manifest, is_master=node.is_master, training_succeeded=True)
    paths = manifest["paths"]
    hf_dir = None
    if steps.merge == "llamafactory":
        env = {"FORCE_TORCHRUN": "0", **(secret_env or {})}
        run_or_fail(commands.llamafactory_export(f"{paths['config_dir']}/{manifest['merge_config']}"),
                    "LoRA merge", env=env, cwd=paths["llamafactory_root"])
    elif steps.merge == "easyr1":
        pattern = manifest["checkpoint_pattern"]
        # Locally only this node's marker is there; the workers' shards arrive through collect_shards.
        found = checkpoints.scan(manifest["checkpoint_root"], pattern)
        last = plan.last_complete(found, [node.current_host], pattern)
        if last is None:
            raise JobFailed("Training finished without a checkpoint to export; set save steps below the run length.")
        if coordination:
            collect_shards(manifest, node, coordination, last.name)
        actor = f"{manifest['checkpoint_root']}/{last.name}/actor"
        run_or_fail(commands.easyr1_merge(paths["easyr1_root"], actor), "EasyR1 model merge", env=secret_env,
                    cwd=paths["easyr1_root"])
        hf_dir = f"{actor}/huggingface"
    for upload in steps.uploads:
        src = upload.get("src") or hf_dir
        count = s3sync.upload_dir(src, upload["uri"], exclude=upload.get("exclude", ()))
        log(f"uploaded {count} files of the {upload['what']} model")
        if count == 0:
            raise JobFailed(f"The {upload['what']} model folder {src} is empty.")


def job_secrets_for(manifest: dict, env) -> dict[str, str]:
    """The variables the manifest asks for, from the job's secret: the environment of the tool subprocesses.

    A missing tracker key turns tracking off (losing the tracker beats losing the run); a missing
    Hugging Face token fails the job, since the user named one for a model that needs it."""
    wanted = [*manifest.get("secret_env", []), *manifest.get("optional_env", [])]
    if not wanted:
        return {}
    values, problem = job_secrets.load(env)
    if problem:
        log(f"WARNING: {problem}")
    missing_hf = [name for name in manifest.get("optional_env", []) if not values.get(name)]
    if missing_hf:
        raise JobFailed(f"The Hugging Face token ({', '.join(missing_hf)}) this job needs is not available: "
                        + (problem or f"{job_secrets.ENV_SECRETS_ARN} is not set or the secret does not hold it")
                        + ". The execution role needs secretsmanager:GetSecretValue on the job's secret.")
    missing = [name for name in manifest.get("secret_env", []) if not values.get(name)]
    if missing:
        log(f"WARNING: {', '.join(missing)} is not set; experiment tracking is turned off for this run.")
        manifest["overrides"] = commands.tracking_off(manifest["tool"])
    return {name: values[name] for name in wanted if values.get(name)}


def write_failure(message: str) -> None:
    log("FAILED: " + message)
    try:
        Path(FAILURE_FILE).parent.mkdir(parents=True, exist_ok=True)
        Path(FAILURE_FILE).write_text(message[:1000])
    except OSError:
        pass


def main(env=None) -> int:
    env = os.environ if env is None else env
    signal.signal(signal.SIGTERM, _forward_signal)
    signal.signal(signal.SIGINT, _forward_signal)
    node = hosts.node_from_env(env)
    checkpoint_uri = env.get("MODELHUB_CHECKPOINT_URI")
    watcher = coordination = None
    try:
        manifest = fetch_bundle(env["MODELHUB_CONFIG_URI"], env.get("MODELHUB_CONFIG_DIR", CONFIG_DIR))
        secret_env = job_secrets_for(manifest, env)
        os.environ.update(manifest.get("env", {}))
        self_sync = checkpoint_uri if not Path(SAGEMAKER_CHECKPOINT_CONFIG).exists() else None
        if self_sync:
            s3sync.download_prefix(self_sync, manifest["paths"]["checkpoint_dir"])
        for item in manifest["downloads"]:
            log(f"downloading {item['uri']}")
            s3sync.download_prefix(item["uri"], item["dest"])
        if manifest["tool"] == "llamafactory":
            prepare_datasets(manifest)
        resume_from = choose_resume(manifest, node)
        watcher = Watcher(manifest, node, self_sync)
        watcher.start()
        if manifest["tool"] == "easyr1":
            if node.nnodes > 1 and node.is_master:
                coordination = start_ray_cluster(manifest, node, checkpoint_uri, secret_env)
            train_easyr1(manifest, node, resume_from, checkpoint_uri, secret_env)
        else:
            train_llamafactory(manifest, node, resume_from, secret_env)
        watcher.finish(training_succeeded=True)
        watcher = None
        finish(manifest, node, coordination, secret_env)
        return 0
    except Exception as exc:  # noqa: BLE001 - every failure ends as a reason SageMaker reports
        if not isinstance(exc, JobFailed):
            traceback.print_exc()
        if watcher is not None:
            watcher.finish(training_succeeded=False)
        write_failure(str(exc) if isinstance(exc, JobFailed) else f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        if coordination:
            try:
                s3sync.put_text(s3sync.join_uri(coordination, handshake.DONE), "done")
            except Exception as exc:  # noqa: BLE001 - the workers also stop when the Ray head goes away
                log(f"could not signal the workers: {type(exc).__name__}")
