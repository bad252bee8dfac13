"""Generated protobuf and gRPC modules (from proto/ by proto/generate.py; do not edit)."""
