using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Keeps protocol chatter out of the trace list so a task's trace is easy to find. Never recorded: incoming /health,
/// /alive, /metrics, the worker protocol's own calls (register, heartbeat, lease long-poll, deregister, relay) and requests
/// whose caller marked them "not sampled"; outgoing calls made outside a recorded trace (a worker's heartbeats, lease
/// polls, registration, provider probes and model pulls). A task stays one trace: submit → d8.task.lease (a span the
/// orchestrator starts in the task's trace) → d8.worker.run → provider call (gen_ai.* spans) → complete. Metrics still
/// count every request.
/// </summary>
public static class TraceFilter
{
    private const string HttpClientActivity = "System.Net.Http.HttpRequestOut";

    /// <summary>
    /// True when an incoming request should be traced: not chatter, and not sent by a caller whose W3C traceparent says
    /// "not sampled" (the AppHost sets OTEL_TRACES_SAMPLER=always_on, which alone would record such calls as new
    /// traces, e.g. the dashboard's fleet poll).
    /// </summary>
    public static bool ShouldTrace(HttpContext context) =>
        !IsChatter(context.Request.Method, context.Request.Path) && !CallerSaidNotSampled(context.Request.Headers.TraceParent.ToString());

    /// <summary>True for a well-formed traceparent ("00-trace-span-flags") whose sampled bit is 0.</summary>
    public static bool CallerSaidNotSampled(string? traceParent) =>
        traceParent is { Length: 55 } value
        && byte.TryParse(value.AsSpan(53, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var flags)
        && (flags & 1) == 0;

    /// <summary>
    /// Health probes, scrapes and the worker protocol's own calls: register (POST /api/workers), heartbeat, lease
    /// long-poll, deregister (DELETE /api/workers/{id}), and a streamed task's relay pieces (POST
    /// /api/tasks/{id}/relay). A worker sends these with a sampled traceparent even though its own span is dropped, so
    /// the path decides. Task reports (complete, fail) run inside the task's trace and stay;
    /// so do a client's GET /api/workers and an operator's drain.
    /// </summary>
    public static bool IsChatter(string method, PathString path)
    {
        if (path.StartsWithSegments(ServiceDefaultsExtensions.HealthEndpointPath)
            || path.StartsWithSegments(ServiceDefaultsExtensions.AlivenessEndpointPath)
            || path.StartsWithSegments(ServiceDefaultsExtensions.PrometheusEndpointPath))
        {
            return true;
        }
        var value = path.Value?.TrimEnd('/');
        if (value is not null && value.StartsWith("/api/tasks/", StringComparison.OrdinalIgnoreCase))
        {
            // A streamed task's relay: one request per piece of its answer, too many to be spans of its trace.
            return HttpMethods.IsPost(method) && value.EndsWith("/relay", StringComparison.OrdinalIgnoreCase);
        }
        if (value is null || !value.StartsWith("/api/workers", StringComparison.OrdinalIgnoreCase)) return false;
        if (value.Equals("/api/workers", StringComparison.OrdinalIgnoreCase)) return HttpMethods.IsPost(method);
        return value.EndsWith("/heartbeat", StringComparison.OrdinalIgnoreCase)
               || value.EndsWith("/leases", StringComparison.OrdinalIgnoreCase)
               || HttpMethods.IsDelete(method);
    }

    /// <summary>True when an outgoing call belongs to a recorded trace (a task run, or a request being served).</summary>
    public static bool ShouldTraceOutgoing(HttpRequestMessage request)
    {
        _ = request;
        var current = Activity.Current;
        var parent = current?.OperationName == HttpClientActivity ? current.Parent : current;
        return parent is { Recorded: true };
    }
}
