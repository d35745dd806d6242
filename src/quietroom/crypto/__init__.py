"""Quietroom's end-to-end encryption protocol, suite ``qr1`` (docs/security/protocol.md).

Modules by concern: ``encoding`` (PAE, strict encodings), ``keys`` (primitive wrappers),
``password`` and ``account`` (password-derived keys, UK, bundle, escrow), ``devices`` (device
wraps and signed device lists), ``practice`` (PRK/PRSK, config, certificates), ``verification``
(safety numbers), ``items`` (seal/open, grants, revisions), ``stream`` (Tink streaming),
``envelope`` (closed-schema JSON), ``webrtc``, ``turn``, ``recovery``, ``server_checks`` and
``offline``.
"""
