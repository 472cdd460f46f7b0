using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// One line and exit code 2, instead of a stack trace, for the start-up failures a user's environment causes: a
/// port already taken, a folder or file the process may not use, and every <see cref="Refusal"/>. The host's
/// own "Hosting failed to start" error (which carries the stack trace) is silenced until the app has started; what
/// <see cref="Describe"/> does not know still ends the process as an unhandled exception, with its trace.
/// </summary>
public static partial class StartupFailure
{
    /// <summary>The exit code of a refused start (a bad environment, not a crash).</summary>
    public const int ExitCode = 2;

    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";
    private const string RefusalMark = "d8.startup-refusal";

    /// <summary>
    /// A start-up refused because of something the user can fix (configuration, a file, a folder): the exception to
    /// throw, whose message is the one line printed. An <see cref="InvalidOperationException"/>, marked as a refusal.
    /// </summary>
    public static InvalidOperationException Refusal(string line, Exception? inner = null)
    {
        var refusal = new InvalidOperationException(line, inner);
        refusal.Data[RefusalMark] = true;
        return refusal;
    }

    /// <summary>Runs <paramref name="run"/>; a known start-up failure becomes "<paramref name="app"/>: line" on stderr and exit code 2.</summary>
    public static async Task<int> RunAsync(string app, Func<Task<int>> run)
    {
        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (Exception e) when (Describe(e) is { } line)
        {
            await Console.Error.WriteLineAsync($"{app}: {line}").ConfigureAwait(false);
            return ExitCode;
        }
    }

    /// <summary>The one line for a failure the user can fix, or null for anything else (a bug: let it crash loudly).</summary>
    public static string? Describe(Exception failure)
    {
        if (failure is AggregateException { InnerExceptions.Count: 1 } single) failure = single.InnerExceptions[0];
        if (failure.Data[RefusalMark] is true) return failure.Message;
        if (Find<AddressInUseException>(failure) is not null)
        {
            var address = BindAddress().Match(failure.Message) is { Success: true } m ? m.Groups[1].Value : "its address";
            return $"cannot listen on {address}: another process already uses that port. " +
                   "Stop it, or choose a free port with ASPNETCORE_URLS (e.g. http://0.0.0.0:8081) or HTTP_PORTS (e.g. 8081).";
        }
        if (Find<SocketException>(failure) is { SocketErrorCode: SocketError.AccessDenied })
        {
            return $"{failure.Message} Ports below 1024 need root: choose a higher one with ASPNETCORE_URLS or HTTP_PORTS.";
        }
        if (failure is UnauthorizedAccessException denied)
        {
            return $"{denied.Message} Give the user this process runs as access to it, or point the setting to a path it may use.";
        }
        return null;
    }

    /// <summary>Silences the host's own start-failure error (with its stack trace) until the app has started.</summary>
    public static TBuilder AddStartupFailureLine<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var started = new StartedFlag();
        builder.Services.AddSingleton<IHostedService>(started);
        // A rule for the host's category only (a rule without one would replace the configured default level).
        builder.Logging.AddFilter(HostCategory, level => level >= LogLevel.Information && (started.Value || level < LogLevel.Error));
        return builder;
    }

    private static T? Find<T>(Exception? e) where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T hit) return hit;
        }
        return null;
    }

    [GeneratedRegex(@"address (\S+): address already in use", RegexOptions.IgnoreCase)]
    private static partial Regex BindAddress();

    /// <summary>Set once every hosted service (the web server included) has started.</summary>
    private sealed class StartedFlag : IHostedLifecycleService
    {
        private volatile bool _value;

        public bool Value => _value;

        public Task StartedAsync(CancellationToken cancellationToken)
        {
            _value = true;
            return Task.CompletedTask;
        }

        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
