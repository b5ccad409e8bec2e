"""Recordings: MixMonitor control, storage, metadata, retention, audited retrieval.

Recording starts in the dialplan (``callcenter-connect`` runs MixMonitor when
``CC_RECORD=1``); this package owns everything after Asterisk writes the file.
It is filled in by the recordings issue; the walking skeleton records nothing.
"""
