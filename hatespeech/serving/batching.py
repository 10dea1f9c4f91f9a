"""The service's micro-batcher: one worker thread that classifies the texts of concurrent requests together."""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from typing import Any

from hatespeech.model.inference import DEFAULT_BATCH_SIZE, Classifier

log = logging.getLogger(__name__)


class MicroBatcher:
    """One worker thread classifying the texts of concurrent requests together.

    The worker takes the oldest request, then keeps taking queued ones until ``batch_size`` texts are
    gathered or ``max_wait_s`` has passed, classifies them in one call (length-sorted batches), and hands
    each request its own slice. If that call fails, each request of the group is retried on its own, so
    only a request that fails by itself gets the error; the worker outlives any error.
    """

    _STOP = object()

    def __init__(self, classifier: Classifier, batch_size: int = DEFAULT_BATCH_SIZE, max_wait_s: float = 0.005) -> None:
        self.classifier, self.batch_size, self.max_wait_s = classifier, batch_size, max_wait_s
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="micro-batcher", daemon=True)
        self.model_lock = threading.Lock()  # one computation on the model at a time: batches, explanations

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(self._STOP)
        self._thread.join(timeout=10)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, texts: list[str]) -> Future[list[dict[str, Any]]]:
        future: Future[list[dict[str, Any]]] = Future()
        self._queue.put((texts, future))
        return future

    def _gather(self, first: tuple[list[str], Future]) -> tuple[list[tuple[list[str], Future]], bool]:
        group, size, stop = [first], len(first[0]), False
        deadline = time.monotonic() + self.max_wait_s
        while size < self.batch_size:
            try:
                item = self._queue.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                break
            if item is self._STOP:
                stop = True
                break
            group.append(item)
            size += len(item[0])
        return group, stop

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is self._STOP:
                return
            group, stop = self._gather(item)
            group = [(texts, future) for texts, future in group if future.set_running_or_notify_cancel()]
            try:
                self._answer(group)
            except Exception:  # noqa: BLE001 (a bug in answering must not stop the service)
                log.exception("micro-batch worker error")
                for _, future in group:
                    if not future.done():
                        future.set_exception(RuntimeError("internal error while answering"))
            if stop:
                return

    def _answer(self, group: list[tuple[list[str], Future]]) -> None:
        with self.model_lock:
            self._answer_locked(group)

    def _answer_locked(self, group: list[tuple[list[str], Future]]) -> None:
        try:
            results = self.classifier.predict([t for texts, _ in group for t in texts], self.batch_size)
        except Exception:  # noqa: BLE001 (isolated below: one request at a time)
            if len(group) == 1:
                raise
            log.warning("a micro-batch of %d requests failed; retrying them one by one", len(group))
            for texts, future in group:
                try:
                    future.set_result(self.classifier.predict(texts, self.batch_size))
                except Exception as exc:  # noqa: BLE001 (this request's own error, answered with a 500)
                    log.error("prediction failed for one request: %s: %s", type(exc).__name__, exc)
                    future.set_exception(exc)
            return
        start = 0
        for texts, future in group:
            future.set_result(results[start : start + len(texts)])
            start += len(texts)
