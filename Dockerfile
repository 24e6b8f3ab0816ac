# Example image for docker-compose.yml (CPU). Build it where the package registries are reachable; the
# running containers need no internet.
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN python -m venv .venv \
 && .venv/bin/pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
 && .venv/bin/pip install --no-cache-dir -r requirements.txt
COPY . .
ENV GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1
EXPOSE 7860
