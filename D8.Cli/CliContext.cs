using System.CommandLine;
using D8.Cli.Configuration;
using D8.Contracts;
using D8.Contracts.Trust;
using Spectre.Console;

namespace D8.Cli;

/// <summary>What every command gets: the environment, the output writers, a Spectre console over them, and clients.</summary>
public sealed class CliContext(CliEnvironment env, TextWriter output, TextWriter error, ConnectionOptions connection)
{
    public CliEnvironment Env { get; } = env;
    public TextWriter Out { get; } = output;
    public TextWriter Err { get; } = error;

    /// <summary>Spectre console writing to <see cref="Out"/>; plain text (no ANSI) unless the environment says otherwise.</summary>
    public IAnsiConsole Console { get; } = CreateConsole(env, output);

    public ConnectionOptions Connection { get; } = connection;

    /// <summary>An HTTP client for calls to anything but the orchestrator (Ollama, providers use their own SDKs).</summary>
    public HttpClient CreateHttpClient(Uri? baseAddress, TimeSpan timeout)
    {
        var http = Env.HttpHandlerFactory is { } factory ? new HttpClient(factory(), disposeHandler: true) : new HttpClient();
        http.BaseAddress = baseAddress;
        http.Timeout = timeout;
        http.DefaultRequestHeaders.UserAgent.ParseAdd(UserAgent);
        return http;
    }

    /// <summary>The typed orchestrator client for the resolved connection settings.</summary>
    public OrchestratorClient CreateOrchestratorClient(ParseResult parse, TimeSpan? timeout = null)
    {
        var settings = ConnectionSettings.Resolve(parse, Connection, Env);
        return CreateOrchestratorClient(settings.OrchestratorUrl, settings.ApiKey, timeout, EnvironmentPin(), alternates: settings.OrchestratorUrls);
    }

    /// <summary>
    /// The typed orchestrator client for an explicit URL. With <paramref name="pin"/> the orchestrator's certificate
    /// must chain to the pinned CA (as a worker checks it); with <paramref name="healthOnly"/> and no pin the certificate
    /// is not checked (only for GET /health, which carries no secret). A pin with an <c>http://</c> URL is refused, and
    /// no credential goes over plain HTTP to a network address without D8_ALLOW_PLAINTEXT (<see cref="PlainHttp"/>).
    /// With <paramref name="alternates"/> (every orchestrator sharing one database, <paramref name="url"/> first) requests
    /// follow the active one (<see cref="ActiveOrchestratorHandler"/>).
    /// </summary>
    public OrchestratorClient CreateOrchestratorClient(Uri url, string? apiKey, TimeSpan? timeout = null, string? pin = null, bool healthOnly = false,
        IReadOnlyList<Uri>? alternates = null)
    {
        if (alternates is { Count: > 1 } && pin is not null && !healthOnly && alternates.FirstOrDefault(u => u.Scheme == Uri.UriSchemeHttp) is { } plain)
        {
            url = plain;
        }
        // Long-polls wait up to 30 s on the server, so the HTTP timeout must be well above that.
        var wait = timeout ?? TimeSpan.FromSeconds(100);
        if (pin is not null && url.Scheme == Uri.UriSchemeHttp && !healthOnly)
        {
            throw new CliException($"{url.GetLeftPart(UriPartial.Authority)} is plain HTTP but a pin is set (D8_ORCHESTRATOR_PIN or a pinned D8_JOIN_TOKEN): " +
                "the pin can only be checked over TLS; use https:// (same host and port)", PlainHttp.ExitCode);
        }
        HttpMessageHandler handler;
        if (Env.HttpHandlerFactory is { } factory) handler = factory();
        else if (url.Scheme == Uri.UriSchemeHttps && pin is not null) handler = new PinnedTrust(pin, Env.Time).CreateHandler();
        else if (url.Scheme == Uri.UriSchemeHttps && healthOnly)
        {
            var sockets = new SocketsHttpHandler();
            sockets.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
            handler = sockets;
        }
        else handler = new SocketsHttpHandler();
        HttpMessageHandler guarded = new PlainHttp.Guard(PlainHttpAllowed) { InnerHandler = handler };
        if (alternates is { Count: > 1 })
        {
            guarded = new ActiveOrchestratorHandler(alternates) { InnerHandler = guarded };
            url = alternates[0];
        }
        var http = new HttpClient(guarded, disposeHandler: true) { BaseAddress = url, Timeout = wait };
        http.DefaultRequestHeaders.UserAgent.ParseAdd(UserAgent);
        return new OrchestratorClient(http) { ApiKey = apiKey };
    }

    /// <summary>D8_ALLOW_PLAINTEXT=true: credentials may go over plain HTTP to a network address (warned about by the commands that check).</summary>
    public bool PlainHttpAllowed => PlainHttp.IsAllowed(Env.Get(PlainHttp.AllowVariable));

    private static string UserAgent => "d8-cli/" + (typeof(CliContext).Assembly.GetName().Version?.ToString(3) ?? "0");

    /// <summary>The CA pin for client commands: D8_ORCHESTRATOR_PIN, else the pin of D8_JOIN_TOKEN.</summary>
    public string? EnvironmentPin() =>
        Env.Get("D8_ORCHESTRATOR_PIN") is { } pin && JoinToken.IsPin(pin.Trim()) ? pin.Trim().ToLowerInvariant()
        : JoinToken.TryParse(Env.Get("D8_JOIN_TOKEN"), out var token, out _) ? token.Pin : null;

    private static IAnsiConsole CreateConsole(CliEnvironment env, TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = env.Ansi ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = env.Ansi ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = env.Interactive ? InteractionSupport.Yes : InteractionSupport.No,
        });
        console.Profile.Width = env.Width;
        return console;
    }
}
