using D8.Emulators.Hosting;
using D8.Emulators.OpenAi;

namespace D8.Tests.Emulators;

/// <summary>The emulators' request log signals: no polling, already-arrived requests count, timeouts are explicit.</summary>
[Trait("Category", "Unit")]
public sealed class RequestLogTests
{
    [Fact]
    public async Task Wait_completes_for_a_request_that_already_arrived_and_times_out_otherwise()
    {
        await using var emulator = await OpenAiEmulator.StartAsync();
        using var http = new HttpClient();
        using var _ = await http.GetAsync(emulator.BaseUrl + "/v1/models");

        var seen = await emulator.WaitForRequestAsync("/v1/models", TimeSpan.FromSeconds(30));
        var timeout = await Assert.ThrowsAsync<TimeoutException>(() =>
            emulator.WaitForRequestAsync("/chat/completions", TimeSpan.FromMilliseconds(100)));

        Assert.Equal(1, seen.Sequence);
        Assert.Equal("GET", seen.Method);
        Assert.False(seen.HasAuthorization);
        Assert.Contains("1 requests received", timeout.Message);
    }

    [Fact]
    public async Task WaitForCount_completes_on_the_nth_matching_request()
    {
        await using var emulator = await OpenAiEmulator.StartAsync();
        using var http = new HttpClient();

        var third = emulator.Requests.WaitForCountAsync(r => r.Path.EndsWith("/models", StringComparison.Ordinal), 3, TimeSpan.FromSeconds(30));
        for (var i = 0; i < 3; i++)
        {
            Assert.False(third.IsCompleted);
            using var _ = await http.GetAsync(emulator.BaseUrl + "/v1/models");
        }
        var request = await third;

        Assert.Equal(3, request.Sequence);
        Assert.Equal(3, emulator.Requests.Count);
    }

    [Fact]
    public void Answer_is_name_digest_then_filler_one_word_per_token()
    {
        var words = EmulatorAnswer.Words("groq", "hi", 5);

        Assert.Equal(["groq", EmulatorAnswer.Digest("hi"), "alpha", "bravo", "charlie"], words);
        Assert.NotEqual(EmulatorAnswer.Digest("hi"), EmulatorAnswer.Digest("ho"));
        Assert.Equal(8, EmulatorAnswer.Digest("hi").Length);
    }
}
