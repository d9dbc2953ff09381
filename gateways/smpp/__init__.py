"""SMPP 3.4 server gateway: partners (ESMEs) bind and submit over SMPP; see ``server``."""
