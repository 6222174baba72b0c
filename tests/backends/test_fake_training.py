"""The fake training target behaves as the contract says, so tests that use it test the apps, not the fake."""

import pytest

from apps.backends.base import Capability, JobLocations, JobPhase, JobRef, Resources, TrainingBackend, TrainingSubmission
from apps.backends.errors import TransientError
from apps.backends.fake.training import FakeTraining


@pytest.fixture
def fake():
    FakeTraining.reset()
    yield FakeTraining()
    FakeTraining.reset()


def submission(name="run-1", secrets=None) -> TrainingSubmission:
    root = FakeTraining().job_root(name)
    locations = JobLocations(root=root, config=root + "config/", checkpoints=root + "checkpoints/",
                             output=root + "output/", trainer_log=root + "checkpoints/trainer_log.jsonl")
    return TrainingSubmission(job_id=1, remote_name=name, owner="alice", job_type="sft", tool="llamafactory",
                              resources=Resources("ml.g5.2xlarge"), locations=locations, environment={},
                              files={"job.json": "{}"}, spec={}, secrets=secrets or {})


def ref(name="run-1") -> JobRef:
    return JobRef(job_id=1, remote_name=name)


def test_it_is_a_training_backend_with_every_training_capability(fake):
    assert isinstance(fake, TrainingBackend)
    assert {Capability.LOGS, Capability.METRICS, Capability.STOP, Capability.SECRETS, Capability.STORAGE} <= fake.capabilities
    assert fake.readiness().usable


def test_a_run_walks_its_script_one_step_per_poll_and_describe_only_looks(fake):
    fake.world.script([("running", "Training"), ("failed", "Crashed", "CUDA out of memory")])
    state = fake.submit(submission())
    assert (state.phase, state.remote_status, state.adopted) == (JobPhase.STARTING, "Submitted", False)
    assert fake.world.files["memory://fake/jobs/run-1/config/job.json"] == "{}"
    assert fake.describe(ref()).phase == JobPhase.STARTING
    assert fake.poll_many([ref(), ref("unknown")])["run-1"].phase == JobPhase.RUNNING
    assert fake.describe(ref()).phase == JobPhase.RUNNING
    failed = fake.poll_many([ref()])["run-1"]
    assert failed.phase == JobPhase.FAILED and failed.failure_reason == "CUDA out of memory" and failed.ended_at
    assert [event.status for event in failed.history] == ["Submitted", "Training", "Crashed"]
    assert fake.poll_many([ref()])["run-1"].phase == JobPhase.FAILED  # the script is over: it stays
    assert fake.describe(ref("unknown")).phase == JobPhase.NOT_FOUND


def test_a_second_submit_adopts(fake):
    fake.submit(submission())
    assert fake.submit(submission()).adopted and len(fake.world.runs) == 1


def test_stop_goes_through_stopping_to_stopped(fake):
    fake.submit(submission())
    fake.stop(ref())
    assert fake.describe(ref()).phase == JobPhase.STOPPING
    assert fake.poll_many([ref()])["run-1"].phase == JobPhase.STOPPED
    fake.stop(ref())  # over: nothing happens
    fake.stop(ref("unknown"))
    assert fake.describe(ref()).phase == JobPhase.STOPPED


def test_logs_page_forward_and_reject_a_bad_token(fake):
    fake.submit(submission())
    fake.world.log("run-1", "a", "b", "c")
    first = fake.logs(ref(), limit=2)
    assert [line.message for line in first.lines] == ["a", "b"]
    rest = fake.logs(ref(), first.next_token)
    assert [line.message for line in rest.lines] == ["c"] and fake.logs(ref(), rest.next_token).lines == []
    with pytest.raises(ValueError):
        fake.logs(ref(), "not-a-token")


def test_secrets_files_calls_and_scripted_failures(fake):
    fake.submit(submission(secrets={"HF_TOKEN": "hf_x"}))
    assert "hf_x" not in repr(submission(secrets={"HF_TOKEN": "hf_x"}))
    assert fake.delete_secrets(ref()) is True and fake.delete_secrets(ref()) is False
    fake.world.files["memory://fake/jobs/run-1/checkpoints/trainer_log.jsonl"] = "{}\n"
    assert fake.read_text("memory://fake/jobs/run-1/checkpoints/trainer_log.jsonl") == "{}\n"
    assert fake.read_text("memory://nothing") == ""
    fake.world.fail_next.append(TransientError("busy"))
    with pytest.raises(TransientError):
        fake.describe(ref())
    assert fake.world.calls["describe"] == 1 and fake.world.calls["submit"] == 1
