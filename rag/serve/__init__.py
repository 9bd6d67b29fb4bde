"""``rag serve``: the archive as an OpenAI-compatible chat model, with its citations in the response.

``rag.serve.protocol`` turns requests into questions and answers into OpenAI JSON (no web code);
``rag.serve.app`` is the Starlette app and its uvicorn runner. Neither imports gradio or loads a
model when imported.
"""
