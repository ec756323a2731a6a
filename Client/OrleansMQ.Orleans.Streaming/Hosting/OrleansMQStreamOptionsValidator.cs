using Orleans;
using Orleans.Runtime;

namespace OrleansMQ.Streaming.Hosting;

/// <summary>Checks a provider's options when the silo or client starts, so a bad setting fails the start with its name.</summary>
internal sealed class OrleansMQStreamOptionsValidator(OrleansMQStreamOptions options, string name) : IConfigurationValidator
{
    public void ValidateConfiguration()
    {
        try
        {
            options.Validate(name);
        }
        catch (ArgumentException ex)
        {
            throw new OrleansConfigurationException(ex.Message, ex);
        }
    }
}
