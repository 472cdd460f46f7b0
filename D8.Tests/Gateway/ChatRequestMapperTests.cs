using System.Text;
using D8.Orchestrator.Gateway;

namespace D8.Tests.Gateway;

/// <summary>An OpenAI chat body → a D8 task, or the 400 naming the field.</summary>
[Trait("Category", "Unit")]
public sealed class ChatRequestMapperTests
{
    private static ChatMapResult Map(string json) => ChatRequestMapper.MapJson(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void A_full_request_maps_every_supported_field()
    {
        var result = Map("""
            {"model":"groq/llama-3.1-8b-instant","messages":[
              {"role":"developer","content":"be brief"},
              {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
              {"role":"assistant","content":"ok","name":"bot"}],
             "max_completion_tokens":40,"max_tokens":10,"temperature":0.5,"top_p":0.9,"stop":"END","seed":3,
             "response_format":{"type":"json_object"},"stream":true,"stream_options":{"include_usage":true},
             "user":"u1","metadata":{"team":"x","d8_priority":"8"},
             "n":1,"tools":[],"logprobs":false,"presence_penalty":0,"frequency_penalty":0,"logit_bias":{},"store":false}
            """);

        Assert.True(result.IsValid, result.Error?.Message);
        var task = result.Task;
        Assert.Equal(("groq", "llama-3.1-8b-instant"), (task.Provider, task.Model));
        Assert.Equal(["system", "user", "assistant"], task.Messages!.Select(m => m.Role));
        Assert.Equal("a\nb", task.Messages![1].Content);
        Assert.Equal((40, 0.5, 0.9, 3L), (task.MaxTokens!.Value, task.Temperature!.Value, task.TopP!.Value, task.Seed!.Value));
        Assert.Equal(["END"], task.Stop!);
        Assert.True(task.JsonMode);
        Assert.True(task.Stream);
        Assert.Equal(8, task.Priority);
        Assert.Equal(new Dictionary<string, string> { ["team"] = "x", ["user"] = "u1" }, task.Labels);
    }

    [Theory]
    [InlineData("llama-3.1-8b-instant", null, "llama-3.1-8b-instant")]
    [InlineData("ollama/deepseek-coder:1.3b", "ollama", "deepseek-coder:1.3b")]
    [InlineData("meta-llama/llama-4-scout", null, "meta-llama/llama-4-scout")]
    [InlineData("groq/meta-llama/llama-4-scout", "groq", "meta-llama/llama-4-scout")]
    public void Model_is_an_exact_id_or_provider_slash_model(string model, string? provider, string exact) =>
        Assert.Equal((provider, exact), ChatRequestMapper.SplitModel(model));

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""", "model")]
    [InlineData("""{"model":"m","messages":[]}""", "messages")]
    [InlineData("""{"model":"m","messages":[{"role":"robot","content":"hi"}]}""", "messages[0].role")]
    [InlineData("""{"model":"m","messages":[{"role":"user"}]}""", "messages[0].content")]
    [InlineData("""{"model":"m","messages":[{"role":"tool","content":"x","tool_call_id":"1"}]}""", "messages[0].role")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", "messages[0].content[0]")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":3}""", "temperature")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", "max_tokens")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d","e"]}""", "stop")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}""", "stream_options")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"metadata":{"d8_priority":"12"}}""", "metadata.d8_priority")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":"auto"}""", "tool_choice")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"top_logprobs":2}""", "top_logprobs")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", "temperature")]
    public void A_bad_field_is_named_in_the_error(string json, string param)
    {
        var result = Map(json);

        Assert.False(result.IsValid);
        Assert.Equal("invalid_request_error", result.Error.Type);
        Assert.Equal(param, result.Error.Param);
    }
}
