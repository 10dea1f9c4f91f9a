"""Classify texts with a trained model; prints one JSON line per text, in the input order.

    hatespeech-predict --model models/model "some tweet" "another tweet"
    cat tweets.txt | hatespeech-predict --model models/model
    hatespeech-predict --model models/model --file tweets.txt            # one text per line
    hatespeech-predict --file tweets.csv --column tweet                  # a CSV column
    hatespeech-predict --file tweets.jsonl                               # JSON lines with "text"
    hatespeech-predict --backend onnx-int8 --file tweets.txt             # the export stage's int8 model
    hatespeech-predict --explain "some tweet"                            # which tokens drove the label
    hatespeech-predict --policy strict --file tweets.txt                 # actions under the strict policy

Each line is {"text", "label", "score", "scores", "action", "policy", "reason"}: the label the model's decision rule
picks, its calibrated probability, every class's calibrated probability, and what the moderation policy (--policy,
default: the model's default) does with the text, allow, review or flag, and for which class (a model directory
without policies.json answers no action, and naming a policy fails); with --explain also "explanation", each token's
occlusion score (how much the label's probability drops without it; one forward pass per token:
hatespeech.evaluation.explain). Input is read and written in chunks (length-sorted batches inside each chunk), so
memory stays flat on files of any size.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from hatespeech import PipelineError
from hatespeech.cli import fail
from hatespeech.data.text import check_text
from hatespeech.evaluation.explain import DEFAULT_MAX_TOKENS, explain_classifier
from hatespeech.model.inference import DEFAULT_BATCH_SIZE
from hatespeech.model.policy import Policy
from hatespeech.paths import MODEL_DIR, ONNX_DIR

FORMATS = ("lines", "csv", "jsonl")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
DEFAULT_MODEL = {"torch": MODEL_DIR, "onnx": ONNX_DIR, "onnx-int8": ONNX_DIR}


def input_format(path: str | None, requested: str | None) -> str:
    """``requested`` if given, else from the file's extension (.csv, .jsonl/.ndjson), else one text per line."""
    if requested:
        if requested not in FORMATS:
            raise PipelineError(f"unknown input format '{requested}': choose one of {', '.join(FORMATS)}")
        return requested
    return _EXTENSIONS.get(Path(path).suffix.lower(), "lines") if path else "lines"


def read_lines(handle: Iterable[str]) -> Iterator[str]:
    """One text per line; blank lines are skipped."""
    for line in handle:
        line = line.rstrip("\r\n")
        if line.strip():
            yield line


def read_csv(handle: Iterable[str], column: str, name: str = "input") -> Iterator[str]:
    reader = csv.DictReader(handle)
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise PipelineError(f"{name}: the header line is not readable CSV: {exc}") from None
    if fieldnames is None:
        return
    if column not in fieldnames:
        raise PipelineError(f"{name}: no column '{column}' (columns: {', '.join(fieldnames)}); pick one with --column")
    try:
        for row in reader:
            text = row[column]
            if text is None:
                raise PipelineError(f"{name}: line {reader.line_num} has no value in column '{column}'")
            yield text
    except csv.Error as exc:  # a NUL byte, or a field past the csv module's limit (an unclosed quote?)
        raise PipelineError(f"{name}: line {reader.line_num} is not readable CSV: {exc}") from None


def read_jsonl(handle: Iterable[str], field: str = "text", name: str = "input") -> Iterator[str]:
    for number, line in enumerate(handle, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:  # malformed, or a number past Python's integer-string conversion limit
            raise PipelineError(f"{name}: line {number} is not valid JSON ({getattr(exc, 'msg', exc)})") from None
        except RecursionError:
            raise PipelineError(f"{name}: line {number} is not valid JSON (nested too deeply)") from None
        if not isinstance(record, dict) or not isinstance(record.get(field), str):
            raise PipelineError(f'{name}: line {number} is not a JSON object with a string "{field}" field')
        yield record[field]


def read_texts(handle: IO[str], kind: str, column: str = "text", name: str = "input") -> Iterator[str]:
    if kind == "csv":
        return read_csv(handle, column, name)
    if kind == "jsonl":
        return read_jsonl(handle, name=name)
    return read_lines(handle)


def checked(texts: Iterable[str], name: str) -> Iterator[str]:
    """The texts, each checked to be valid Unicode (see :func:`check_text`); the first bad one stops the run."""
    for number, text in enumerate(texts, 1):
        yield check_text(text, f"{name}: text {number}")


def utf8_stdin() -> IO[str]:
    """stdin decoded as strict UTF-8 whatever the locale (a C locale would let invalid bytes through as surrogates)."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # already text (a test's StringIO)
        return sys.stdin
    return io.TextIOWrapper(buffer, encoding="utf-8", errors="strict", newline="")


def chunks(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for text in texts:
        chunk.append(text)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def stream_predictions(
    classifier: Any,
    texts: Iterable[str],
    out: IO[str],
    batch_size: int = DEFAULT_BATCH_SIZE,
    chunk_size: int = 4096,
    progress: IO[str] | None = None,
    explain_tokens: int = 0,
    policy: Policy | None = None,
) -> int:
    """Write one JSON line per text to ``out``, in the input order; returns how many were written.

    Texts are length-sorted within chunks of ``chunk_size``: large enough that batches hold texts of
    similar length, small enough that memory stays flat. After the first chunk, a progress line goes
    to ``progress`` after each chunk. ``explain_tokens`` > 0 adds each text's explanation (that many tokens);
    ``policy`` adds its action.
    """
    done, started = 0, time.perf_counter()
    for chunk in chunks(texts, chunk_size):
        results = classifier.predict(chunk, batch_size, policy)
        if explain_tokens:
            explanations = explain_classifier(classifier, chunk, explain_tokens, batch_size)
            results = [{**result, "explanation": e} for result, e in zip(results, explanations)]
        for text, result in zip(chunk, results):
            out.write(json.dumps({"text": text, **result}, ensure_ascii=False) + "\n")
        out.flush()
        done += len(chunk)
        if progress is not None and done > len(chunk):
            rate = done / max(time.perf_counter() - started, 1e-9)
            progress.write(f"predict: {done:,} texts ({rate:,.0f}/s)\n")
            progress.flush()
    return done


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("texts", nargs="*", help="texts to classify; none (or '-') reads stdin")
    parser.add_argument(
        "--model", help="model directory (default: models/model for torch, models/onnx for the ONNX backends)"
    )
    parser.add_argument("--backend", help="torch, onnx or onnx-int8 (default: $HATESPEECH_BACKEND, else torch)")
    parser.add_argument("--file", help="read the texts from this UTF-8 file instead of stdin")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="input format (default: from the file's extension: .csv, .jsonl/.ndjson, anything else one text per line)",
    )
    parser.add_argument("--column", default="text", help="CSV column holding the texts (default: %(default)s)")
    parser.add_argument(
        "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="texts per batch (default: %(default)s)"
    )
    parser.add_argument(
        "--precision", help="torch backend only: fp32 or bf16 (default: $HATESPEECH_PRECISION, else fp32)"
    )
    parser.add_argument("--chunk-size", type=int, default=4096, help="texts read, sorted and written at a time")
    parser.add_argument(
        "--threads",
        type=int,
        help="inference threads (default: $HATESPEECH_THREADS, else the cores other processes leave free)",
    )
    parser.add_argument(
        "--policy", help="the moderation policy whose action each line gets (default: the model's default policy)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--explain", action="store_true", help="add each text's token scores (occlusion; slower)")
    parser.add_argument(
        "--explain-max-tokens",
        type=int,
        default=DEFAULT_MAX_TOKENS,
        help="with --explain: tokens scored per text, the first ones (default: %(default)s)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    try:
        from hatespeech.model.inference import Classifier, resolve_backend

        if min(args.batch_size, args.chunk_size, args.threads or 1, args.explain_max_tokens) < 1:
            raise PipelineError("--batch-size, --chunk-size, --threads and --explain-max-tokens must be at least 1")
        backend = resolve_backend(args.backend)
        classifier = Classifier(
            args.model or DEFAULT_MODEL[backend], backend, threads=args.threads, precision=args.precision
        )
        policy = classifier.policy(args.policy) if args.policy or classifier.policies.policies else None
        kind = input_format(args.file, args.format)
        progress = None if args.quiet else sys.stderr

        def run(texts: Iterable[str], name: str) -> None:
            explain_tokens = args.explain_max_tokens if args.explain else 0
            stream_predictions(
                classifier,
                checked(texts, name),
                sys.stdout,
                args.batch_size,
                args.chunk_size,
                progress,
                explain_tokens,
                policy,
            )

        if args.file:
            try:
                handle = open(args.file, encoding="utf-8", newline="")
            except OSError as exc:
                raise PipelineError(f"cannot read {args.file}: {exc.strerror}") from exc
            with handle:
                run(read_texts(handle, kind, args.column, args.file), args.file)
        elif args.texts and args.texts != ["-"]:
            run(args.texts, "arguments")
        else:
            run(read_texts(utf8_stdin(), kind, args.column, "stdin"), "stdin")
    except PipelineError as exc:
        return fail("predict", str(exc))
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        return fail("predict", f"{args.file or 'stdin'} is not valid UTF-8 ({exc.reason}: byte 0x{byte:02x})")
    except BrokenPipeError:
        # The reader went away (`... | head -1`): stop, and keep Python from failing again when it flushes stdout.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            pass  # stdout is no file (embedded use): nothing is flushed at exit
        return fail("predict", "the output was closed before every prediction was written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
