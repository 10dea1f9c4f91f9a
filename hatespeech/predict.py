"""Classify texts with a trained model directory; prints one JSON line per text.

    python -m hatespeech.predict --model models/model "some tweet" "another tweet"
    cat tweets.txt | python -m hatespeech.predict --model models/model
    python -m hatespeech.predict --model models/model --file tweets.txt
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator

from hatespeech import PipelineError


def _read_lines(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        line = line.rstrip("\r\n")
        if line.strip():
            yield line


def _chunks(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for text in texts:
        chunk.append(text)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("texts", nargs="*", help="texts to classify; none (or '-') reads one text per line from stdin")
    parser.add_argument("--model", default="models/model", help="trained model directory (default: %(default)s)")
    parser.add_argument("--file", help="read one text per line from this UTF-8 file")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    try:
        from hatespeech.inference import Classifier

        classifier = Classifier(args.model)
        if args.file:
            try:
                handle = open(args.file, encoding="utf-8")
            except OSError as exc:
                raise PipelineError(f"cannot read {args.file}: {exc.strerror}") from exc
            with handle:
                _classify(classifier, _read_lines(handle), args.batch_size)
        elif args.texts and args.texts != ["-"]:
            _classify(classifier, args.texts, args.batch_size)
        else:
            _classify(classifier, _read_lines(sys.stdin), args.batch_size)
    except (PipelineError, UnicodeDecodeError) as exc:
        print(f"error: predict: {exc}", file=sys.stderr)
        return 2
    return 0


def _classify(classifier, texts: Iterable[str], batch_size: int) -> None:
    # Chunks keep memory flat on long inputs; each result is printed as soon as its chunk is done.
    for chunk in _chunks(texts, batch_size * 16):
        for text, result in zip(chunk, classifier.predict(chunk, batch_size)):
            print(json.dumps({"text": text, **result}, ensure_ascii=False), flush=False)
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
