using System.Text.Json;
using D8.Contracts;

namespace D8.Tests;

[Trait("Category", "Unit")]
public class ContractsTests
{
    [Fact]
    public void Wire_types_use_snake_case_and_string_enums()
    {
        var json = JsonSerializer.Serialize(new FailTaskRequest
        {
            LeaseId = "l1", Kind = FailureKind.RateLimited, Message = "429", RetryAfterSeconds = 2.5,
        }, D8JsonContext.Default.FailTaskRequest);
        Assert.Equal("""{"lease_id":"l1","kind":"rate_limited","message":"429","retry_after_seconds":2.5}""", json);
    }
}
