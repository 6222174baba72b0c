"""A job's outputs (configuration, checkpoints, model or adapter, merged model, exports) with sizes and
download links, and its full log across nodes as one file.

Both go through the job's training backend: its optional OUTPUTS capability lists and links the files
under the job's root, and LOGS pages through the log of every node.
"""

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.backends.base import Capability, StoredFile, supports
from apps.backends.errors import BackendError, RemoteNotFound, RemoteValidationError
from apps.users.ownership import get_visible_or_404

from . import layout, services, submission
from .models import Status, TrainingJob

# The layout's folders, in the order a reader looks for them (others follow by name).
FOLDERS = {
    layout.MERGED_DIR.rstrip("/"): "Merged model",
    layout.MODEL_DIR.rstrip("/"): "Model or adapter",
    layout.HUGGINGFACE_DIR.rstrip("/"): "Hugging Face export",
    layout.CHECKPOINT_DIR.rstrip("/"): "Checkpoints and trainer log",
    layout.OUTPUT_DIR.rstrip("/"): "SageMaker output",
    layout.CONFIG_DIR.rstrip("/"): "Configuration",
}
CHUNK = 1024 * 1024  # bytes per read when the app streams a file itself
LOG_PAGE_LINES = 5000
MAX_LOG_PAGES = 2000  # 10 million lines: a runaway job's log is cut rather than streamed for ever


@dataclass(frozen=True)
class Folder:
    name: str  # first path segment below the job's root ("" for files directly in it)
    label: str
    files: tuple[StoredFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def group_outputs(files: Iterable[StoredFile]) -> list[Folder]:
    """Files grouped by their top folder: the layout's folders first, in FOLDERS order, then the rest by name."""
    groups: dict[str, list[StoredFile]] = {}
    for file in files:
        name = file.key.split("/", 1)[0] if "/" in file.key else ""
        groups.setdefault(name, []).append(file)
    order = list(FOLDERS)
    names = sorted(groups, key=lambda n: (order.index(n) if n in order else len(order), n == "", n))
    return [Folder(n, FOLDERS.get(n, f"{n}/" if n else "Other files"), tuple(sorted(groups[n], key=lambda f: f.key)))
            for n in names]


def _job(request, pk) -> TrainingJob:
    return get_visible_or_404(TrainingJob.objects.alive().select_related("owner"), request.user, pk=pk)


def _outputs_backend(job: TrainingJob):
    backend = services.backend_for(job)
    return backend if supports(backend, Capability.OUTPUTS) and job.output_uri else None


@login_required
@require_GET
def job_outputs(request, pk):
    """The Outputs card's body (htmx): the files under the job's root, by folder."""
    job = _job(request, pk)
    backend = _outputs_backend(job)
    listing, error = None, None
    if backend is not None:
        try:
            listing = backend.list_outputs(job.output_uri)
        except BackendError as exc:
            error = f"The outputs cannot be listed right now: {exc}"
    return render(request, "jobs/_outputs.html", {
        "job": job, "supported": backend is not None, "listing": listing, "error": error,
        "folders": group_outputs(listing.files) if listing else [],
        "logs": supports(services.backend_for(job), Capability.LOGS),
    })


async def _file_chunks(stream) -> AsyncIterator[bytes]:
    try:
        while chunk := await sync_to_async(stream.read, thread_sensitive=False)(CHUNK):
            yield chunk
    finally:
        await sync_to_async(stream.close, thread_sensitive=False)()


@login_required
@require_GET
def job_output_download(request, pk):
    """One file: a redirect to the store's own download link, or the file streamed by ModelHub."""
    job = _job(request, pk)
    backend = _outputs_backend(job)
    key = request.GET.get("key", "")
    if backend is None or not key:
        raise Http404("No such output.")
    try:
        link = backend.output_link(job.output_uri, key)
        if link:
            return HttpResponseRedirect(link)
        stream, size = backend.open_output(job.output_uri, key)
    except (RemoteNotFound, RemoteValidationError) as exc:
        raise Http404(str(exc)) from exc
    response = StreamingHttpResponse(_file_chunks(stream), content_type="application/octet-stream")
    response["Content-Length"] = str(size)
    response["Content-Disposition"] = f'attachment; filename="{key.rsplit("/", 1)[-1].replace(chr(34), "")}"'
    return response


def log_text(lines) -> str:
    return "".join(f"{line.timestamp.isoformat()} {line.stream} {line.message}\n" for line in lines)


async def _log_pages(backend, job: TrainingJob) -> AsyncIterator[bytes]:
    """Every page of the job's log, from the start, until a page brings nothing new."""
    token, ref = None, submission.job_ref(job)
    read = sync_to_async(backend.logs, thread_sensitive=False)
    for _ in range(MAX_LOG_PAGES):
        try:
            page = await read(ref, token, limit=LOG_PAGE_LINES)
        except BackendError as exc:
            yield f"[ModelHub] The log could not be read to its end: {exc}\n".encode()
            return
        if not page.lines:
            return
        yield log_text(page.lines).encode()
        token = page.next_token
    yield f"[ModelHub] The log was cut after {MAX_LOG_PAGES * LOG_PAGE_LINES} lines.\n".encode()


@login_required
@require_GET
def job_log_download(request, pk):
    """The whole log of every node as one text file (timestamp, node, message per line)."""
    job = _job(request, pk)
    backend = services.backend_for(job)
    if not supports(backend, Capability.LOGS) or (not job.remote_id and job.status in (Status.QUEUED, Status.SUBMITTING)):
        raise Http404("This job has no log yet.")
    response = StreamingHttpResponse(_log_pages(backend, job), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{job.remote_name}.log"'
    return response
