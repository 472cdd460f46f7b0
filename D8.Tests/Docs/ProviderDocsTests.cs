using System.Globalization;
using D8.Contracts;
using D8.Tests.Infrastructure;

namespace D8.Tests.Docs;

/// <summary>
/// The provider tables in docs/workers-and-providers.md and the budget defaults in docs/configuration.md say what
/// <see cref="ProviderCatalog"/> says: a default endpoint, model or free tier changed in the catalogue fails here until
/// the docs follow.
/// </summary>
public sealed class ProviderDocsTests
{
    private static readonly string Providers = File.ReadAllText(Path.Combine(AppPaths.RepoRoot, "docs", "workers-and-providers.md"));
    private static readonly string Configuration = File.ReadAllText(Path.Combine(AppPaths.RepoRoot, "docs", "configuration.md"));

    [Fact]
    public void The_providers_table_has_one_row_per_provider_with_its_default_endpoint_and_model()
    {
        var rows = Lines(Providers).Where(l => l.StartsWith("| `", StringComparison.Ordinal) && ProviderCatalog.IsKnown(FirstCell(l))).ToList();
        Assert.Equal(ProviderCatalog.Names, rows.Select(FirstCell));
        foreach (var provider in ProviderCatalog.All)
        {
            var row = rows.Single(r => FirstCell(r) == provider.Name);
            Assert.Contains(provider.DefaultBaseUrl is { } url ? $"`{url.OriginalString}`" : "`D8_PROVIDER_BASE_URL` (required", row);
            Assert.Contains(provider.DefaultModel is { } model ? $"`{model}`" : "`D8_MODEL` (required)", row);
        }
    }

    [Fact]
    public void The_rate_limit_table_gives_each_providers_free_tier()
    {
        var lines = Lines(Providers);
        foreach (var provider in ProviderCatalog.All.Where(p => p.FreeTier != FreeTier.None))
        {
            var tier = provider.FreeTier;
            Assert.Contains(string.Create(CultureInfo.InvariantCulture,
                $"| {provider.Name} ({tier.Plan}) | {tier.RequestsPerMinute:N0} | {tier.TokensPerMinute:N0} | {tier.RequestsPerDay:N0} |"), lines);
        }
        var unlimited = string.Join(", ", ProviderCatalog.All.Where(p => p.FreeTier == FreeTier.None).Select(p => p.Name));
        Assert.Contains($"| {unlimited} | unlimited | unlimited | unlimited |", lines);
    }

    [Fact]
    public void The_configuration_page_gives_the_budget_defaults_and_every_key_variable()
    {
        var defaults = string.Join(", ", ProviderCatalog.All.Where(p => p.FreeTier != FreeTier.None).Select(p =>
            $"{p.Name} {p.FreeTier.RequestsPerMinute} / {p.FreeTier.TokensPerMinute} / {p.FreeTier.RequestsPerDay}")) + ", others 0";
        Assert.Contains(Lines(Configuration), l => l.StartsWith("| `D8_RPM`, `D8_TPM`, `D8_RPD` |", StringComparison.Ordinal) && l.Contains(defaults, StringComparison.Ordinal));
        foreach (var key in ProviderCatalog.All.Select(p => p.KeyVariable).OfType<string>())
        {
            Assert.Contains($"`{key}`", Configuration, StringComparison.Ordinal);
        }
    }

    private static string[] Lines(string page) => page.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();

    /// <summary>The first cell of a table row, without its backticks: "| `groq` | …" → groq.</summary>
    private static string FirstCell(string row) => row.Split('|', StringSplitOptions.TrimEntries)[1].Trim('`');
}
