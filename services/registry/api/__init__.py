"""gRPC edge of the registry: servicer, status mapping, server and composition."""
