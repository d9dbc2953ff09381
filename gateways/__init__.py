"""Partner-facing gateways; each talks to rcs_core only over gRPC."""
