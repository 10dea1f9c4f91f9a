"""The service's micro-batcher: one worker thread that classifies the texts of concurrent requests together,
from a bounded queue (a full queue refuses at once rather than letting every request's wait grow)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from hatespeech.model.inference import DEFAULT_BATCH_SIZE, Classifier

log = logging.getLogger(__name__)

WARM_UP_TEXT = "warming up the model"
GROUP_BATCHES = 8  # batches' worth of already-queued texts one call may take (docs/serving.md has the figures)


class QueueFull(Exception):
    """The queue holds as many texts as allowed: the request is refused (the service answers 503)."""


class MicroBatcher:
    """One worker thread classifying the texts of concurrent requests together.

    The worker takes the oldest request, then keeps taking queued ones until ``batch_size`` texts are
    gathered or ``max_wait_s`` has passed, plus any already waiting up to ``max_group_texts`` (under load,
    several batches' worth: sorted by length together they need far less padding than batches in arrival
    order), classifies them in one call (length-sorted batches), and hands
    each request its own slice. If that call fails, each request of the group is retried on its own, so
    only a request that fails by itself gets the error; the worker outlives any error.

    At most ``max_queue_texts`` texts wait (None: no bound); :meth:`submit` raises :class:`QueueFull` past
    that, so an accepted request waits at most about ``max_queue_texts`` / throughput. The worker's first
    act is a warm-up prediction; :attr:`ready` turns true once it is answered. ``on_batch`` is called with
    each micro-batch's size in texts (the service's metrics).
    """

    _STOP = object()

    def __init__(
        self,
        classifier: Classifier,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_wait_s: float = 0.005,
        max_queue_texts: int | None = None,
        on_batch: Callable[[int], None] | None = None,
        max_group_texts: int | None = None,
    ) -> None:
        self.classifier, self.batch_size, self.max_wait_s = classifier, batch_size, max_wait_s
        self.max_group_texts = max_group_texts or GROUP_BATCHES * batch_size
        self.max_queue_texts, self.on_batch = max_queue_texts, on_batch
        self._queue: queue.Queue[Any] = queue.Queue()
        self._queued_texts = 0  # texts submitted and not yet taken by the worker
        self._count_lock = threading.Lock()
        self._ready = threading.Event()
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

    @property
    def ready(self) -> bool:
        """The worker is running and the model has answered its warm-up prediction."""
        return self._ready.is_set() and self.alive

    @property
    def queued_texts(self) -> int:
        return self._queued_texts

    def submit(self, texts: list[str]) -> Future[list[dict[str, Any]]]:
        """A future for the texts' predictions; :class:`QueueFull` if the queue cannot take them now."""
        with self._count_lock:
            if self.max_queue_texts is not None and self._queued_texts + len(texts) > self.max_queue_texts:
                raise QueueFull(f"{self._queued_texts} texts are queued (at most {self.max_queue_texts})")
            self._queued_texts += len(texts)
        future: Future[list[dict[str, Any]]] = Future()
        self._queue.put((texts, future))
        return future

    def _take(self, item: Any) -> Any:
        if item is not self._STOP:
            with self._count_lock:
                self._queued_texts -= len(item[0])
        return item

    def _gather(self, first: tuple[list[str], Future]) -> tuple[list[tuple[list[str], Future]], bool]:
        group, size, stop = [first], len(first[0]), False
        deadline = time.monotonic() + self.max_wait_s
        while size < self.max_group_texts:
            try:
                if size < self.batch_size:  # wait a little to fill the first batch
                    item = self._queue.get(timeout=max(deadline - time.monotonic(), 0))
                else:  # beyond it, only what is already waiting
                    item = self._queue.get_nowait()
            except queue.Empty:
                break
            self._take(item)
            if item is self._STOP:
                stop = True
                break
            group.append(item)
            size += len(item[0])
        return group, stop

    def _run(self) -> None:
        try:
            with self.model_lock:
                self.classifier.predict([WARM_UP_TEXT], 1)
        except Exception:  # noqa: BLE001 (not ready, and said why; requests get their own errors)
            log.exception("the warm-up prediction failed: the service stays not ready")
        else:
            self._ready.set()
        while True:
            item = self._take(self._queue.get())
            if item is self._STOP:
                return
            group, stop = self._gather(item)
            group = [(texts, future) for texts, future in group if future.set_running_or_notify_cancel()]
            if self.on_batch is not None and group:
                self.on_batch(sum(len(texts) for texts, _ in group))
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
