"""WhiteNoise, with static files read asynchronously when the request came through ASGI.

WhiteNoise hands Django a FileResponse whose content is a synchronous file iterator. Under ASGI,
Django can only consume that by buffering it in a thread, and warns ("StreamingHttpResponse must
consume synchronous iterators") on every CSS, JS or image a page loads. Here the same file is read
chunk by chunk in a worker thread and streamed; under WSGI the response is left as WhiteNoise made it.
"""

import asyncio

from django.core.handlers.asgi import ASGIRequest
from whitenoise.middleware import WhiteNoiseMiddleware

CHUNK_BYTES = 64 * 1024


async def _chunks(file):
    if file is None:  # HEAD, 304: headers only
        return
    while data := await asyncio.to_thread(file.read, CHUNK_BYTES):
        yield data


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    @staticmethod
    def serve(static_file, request):
        response = WhiteNoiseMiddleware.serve(static_file, request)
        if isinstance(request, ASGIRequest):
            response.streaming_content = _chunks(response.file_to_stream)  # the response still closes the file
        return response
