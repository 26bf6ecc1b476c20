"""OpenTelemetry traces as telemetry: OTLP decoding, GenAI spans as tasks, and the store they go into.

- `decode`: request bodies (protobuf or OTLP JSON, gzip/deflate) as `ExportTraceServiceRequest`, with the
  official `opentelemetry-proto` messages; OTLP JSON's hex ids are converted both ways.
- `mapping`: which spans are tasks and the task row each one becomes.
- `store`: the checks that keep writes out of a user's own database, batched `INSERT OR IGNORE`, and the
  writer thread with its bounded queue that the HTTP receiver feeds.
- `files`: `self-improver ingest --format otlp`, the Collector file exporter's JSON lines.
"""
