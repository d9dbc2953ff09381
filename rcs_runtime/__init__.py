"""Shared runtime of every RCS process: settings, errors, logging, tracing, metrics, gRPC, DB.

It imports no service package; services and gateways import it.
"""
