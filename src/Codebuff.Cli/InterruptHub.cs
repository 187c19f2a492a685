namespace Codebuff.Cli;

/// <summary>Routes Ctrl+C: while a run is in progress it cancels that run; otherwise it cancels the process's token.</summary>
public sealed class InterruptHub
{
    volatile Action? _handler;

    public IDisposable Use(Action handler)
    {
        _handler = handler;
        return new Release(this);
    }

    /// <summary>True when a run took the interrupt.</summary>
    public bool Raise()
    {
        var h = _handler;
        h?.Invoke();
        return h is not null;
    }

    sealed class Release(InterruptHub hub) : IDisposable
    {
        public void Dispose() => hub._handler = null;
    }
}
