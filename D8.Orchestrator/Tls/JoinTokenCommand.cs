using D8.Contracts.Trust;
using D8.Orchestrator.Configuration;

namespace D8.Orchestrator.Tls;

/// <summary>
/// <c>D8.Orchestrator join-token</c>: prints the join token workers need (pin + secret), reading the same configuration
/// as the server and creating the CA if this is the first start. In compose:
/// <c>docker compose exec orchestrator /app/D8.Orchestrator join-token</c>.
/// </summary>
public static class JoinTokenCommand
{
    public static bool IsRequested(string[] args) => args is ["join-token", ..];

    public static int Run(string[] args)
    {
        var config = new ConfigurationBuilder().AddEnvironmentVariables().AddEnvironmentVariables("ASPNETCORE_")
            .AddCommandLine(args[1..]).Build();
        var development = string.Equals(config["ASPNETCORE_ENVIRONMENT"] ?? config["DOTNET_ENVIRONMENT"], "Development", StringComparison.OrdinalIgnoreCase);
        try
        {
            var (options, tls) = SettingsReader.Load(config, settings =>
            {
                var orchestrator = OrchestratorOptions.Load(settings, development, new List<string>());
                return (orchestrator, TlsOptions.Load(settings, orchestrator.DbPath));
            });
            JoinToken.TryParse(options.JoinToken, out var configured, out _);
            var secret = configured?.Secret ?? options.JoinToken;
            var certificates = OrchestratorCertificates.Load(tls, TimeProvider.System);
            certificates.WriteJoinToken(tls, secret);
            Console.Out.WriteLine(JoinToken.Format(certificates.Pin, secret));
            return 0;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            Console.Error.WriteLine("join-token: " + e.Message);
            return 1;
        }
    }
}
