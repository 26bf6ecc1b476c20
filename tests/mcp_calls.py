"""Call tools the way a host does and get what the model would read."""

from __future__ import annotations

from typing import Any

from mcp import Client


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool and return its structured result, failing the test on an error result."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return dict(result.structured_content)


async def call_error(client: Client, tool: str, **arguments: Any) -> str:
    """Call a tool that must fail and return the error text the model would read."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} unexpectedly succeeded: {result.structured_content}"
    return " ".join(getattr(c, "text", "") for c in result.content)


async def remember(
    client: Client, signature: str, content: str, confidence: float = 0.6, **metadata: Any
) -> dict[str, Any]:
    """`remember_finding` of a finding about `signature`, as a nightly agent records one."""
    return await call(
        client,
        "remember_finding",
        content=content,
        confidence=confidence,
        metadata={"signature": signature, **metadata},
    )
