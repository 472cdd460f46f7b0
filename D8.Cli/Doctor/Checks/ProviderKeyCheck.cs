using D8.Cli.Verification;

namespace D8.Cli.Doctor.Checks;

/// <summary>For cloud workers: the provider accepts the key and serves the model (one-token completion).</summary>
public sealed class ProviderKeyCheck : IDoctorCheck
{
    public string Name => "provider-key";

    public async Task<Outcome> RunAsync(DoctorContext doctor, CancellationToken ct)
    {
        if (doctor.Provider is not { NeedsApiKey: true } provider) return Outcome.Skip("no cloud provider configured");
        if (doctor.ProviderApiKey is not { } key)
        {
            return Outcome.Fail($"no {provider.Name} API key", $"set {provider.KeyVariable} in the .env (d8 setup worker)");
        }
        if (doctor.ProviderBaseUrl is not { } baseUrl)
        {
            return Outcome.Fail("no base URL for the OpenAI-compatible server", "set D8_PROVIDER_BASE_URL in the .env");
        }
        if (doctor.Model is not { } model) return Outcome.Fail("no model", $"set {provider.ModelVariable ?? "D8_MODEL"} in the .env");
        return await ProviderKeyProbe.CheckAsync(doctor.Cli, provider, baseUrl, key, model, ct);
    }
}
