using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using D8.Orchestrator.Tls;
using D8.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace D8.Tests.Security;

/// <summary>
/// A man in the middle on loopback: presents <c>presented</c> in its TLS handshake, serves <c>servedAsCa</c> (a public
/// certificate it copied from the real orchestrator) at /tls/ca.pem, answers 204 to anything else, and records every
/// request with whether it carried a credential.
/// </summary>
public sealed class ImpostorServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ImpostorServer(WebApplication app) => _app = app;

    /// <summary>https://127.0.0.1:&lt;the port it got&gt;/ (set at start).</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>"METHOD /path auth=True|False" per request received.</summary>
    public ConcurrentQueue<string> Seen { get; } = new();

    /// <param name="caHandler">Answers /tls/ca.pem instead of the PEM of <paramref name="servedAsCa"/> (e.g. an endless body).</param>
    public static async Task<ImpostorServer> StartAsync(X509Certificate2 presented, X509Certificate2 servedAsCa, RequestDelegate? caHandler = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(presented)));
        var app = builder.Build();
        var server = new ImpostorServer(app);
        app.Use(async (HttpContext ctx, RequestDelegate next) =>
        {
            server.Seen.Enqueue($"{ctx.Request.Method} {ctx.Request.Path} auth={ctx.Request.Headers.Authorization.Count > 0}");
            await next(ctx);
        });
        var pem = CertificateFactory.CertificatePem(servedAsCa);
        if (caHandler is not null) app.MapGet("/tls/ca.pem", caHandler);
        else app.MapGet("/tls/ca.pem", () => Results.Text(pem, "application/x-pem-file"));
        app.MapFallback(() => Results.NoContent());
        await app.StartAsync();
        server.Url = new Uri($"https://127.0.0.1:{ServerAddress.Of(app.Services).Port}/");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
