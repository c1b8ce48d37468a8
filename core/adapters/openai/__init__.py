"""The Responses API gateway on the official openai SDK (OpenAI or Azure OpenAI)."""
