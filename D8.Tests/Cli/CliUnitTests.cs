using D8.Cli.Bench;
using D8.Cli.Doctor.Checks;
using D8.Cli.Setup;
using YamlDotNet.RepresentationModel;

namespace D8.Tests.Cli;

/// <summary>The small pure parts: .env round trips, compose interpolation, statistics, model advice.</summary>
[Trait("Category", "Unit")]
public class CliUnitTests
{
    [Fact]
    public void Env_file_round_trips_values_that_need_quoting_and_keeps_comments()
    {
        var path = Path.Combine(Path.GetTempPath(), $"d8-env-{Guid.NewGuid():N}");
        try
        {
            var file = EnvFile.Parse("# keep\nA=1\n");
            file.Set("KEY", "abc$def #x");
            file.Set("A", "2");
            file.Save(path);

            var again = EnvFile.Load(path);
            Assert.Equal("abc$def #x", again.Get("KEY"));
            Assert.Equal("2", again.Get("A"));
            Assert.StartsWith("# keep\nA=2\n", File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Compose_interpolation_requires_only_variables_without_defaults()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader("""
            a: ${REQUIRED}
            b: ${WITH_DEFAULT:-x}
            c: ${ERR_IF_UNSET:?must be set}
            d: $BARE and $${ESCAPED} and $$NOT
            e: ${EMPTY_DEFAULT-}
            """));

        var vars = ComposeFileCheck.RequiredVariables(yaml.Documents[0].RootNode).ToList();

        Assert.Equal(["REQUIRED", "ERR_IF_UNSET", "BARE"], vars);
    }

    [Fact]
    public void Summary_gives_median_spread_and_percentiles()
    {
        var s = Summary.Of([4, 1, 3, 2]);
        Assert.Equal(2.5, s.Median);
        Assert.Equal(1, s.Min);
        Assert.Equal(4, s.Max);
        Assert.Equal(Math.Sqrt(5.0 / 3), s.StdDev!.Value, 9);
        Assert.Equal(3.7, s.P90!.Value, 9);
        Assert.Null(Summary.Of([]).Median);
    }

    [Theory]
    [InlineData(2L << 30, null)]
    [InlineData(3884476L * 1024, "deepseek-coder:1.3b")] // a 4 GB Pi
    [InlineData(7995136L * 1024, "deepseek-coder:6.7b")] // an 8 GB Pi reports 7.6 GiB
    public void Model_advice_follows_ram(long bytes, string? expected) =>
        Assert.Equal(expected, ModelAdvisor.Suggest(bytes));
}
