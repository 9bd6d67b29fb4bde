"""The Gradio chat app (imports gradio only when launched)."""
