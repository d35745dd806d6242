"""atheris target for the envelope decoders (security-requirements.md §5.2, INP-05).

Run: ``.venv/bin/python fuzz/envelope.py -max_total_time=60 fuzz/corpus/envelope``. (libFuzzer
adds new inputs to the first corpus directory; pass a scratch directory first to keep the seeds
clean.) A typed
rejection (:class:`EnvelopeError`) is correct; any other exception is a finding, and atheris saves
the input. Move saved crashers to ``fuzz/crashes/``: ``tests/crypto/test_fuzz_crashers.py``
replays every file there.
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from quietroom.crypto import envelope

DECODERS = list(envelope.DECODERS.values())


def one_input(data: bytes) -> None:
    # The item decoder first (the upload path), then every other envelope kind on the same bytes.
    for decode in DECODERS:
        # A typed rejection is correct; any other exception is a finding.
        with contextlib.suppress(envelope.EnvelopeError):
            decode(data)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
