"""Operating the bot: Prometheus metrics (metrics), the hooks the answer path calls
(observer), optional OpenTelemetry traces (tracing), liveness and readiness (health), and the
HTTP endpoint that serves them on METRICS_PORT (server)."""
