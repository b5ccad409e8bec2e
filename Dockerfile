FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY callcenter callcenter
COPY routing routing
COPY agents agents
COPY screenpop screenpop
COPY recordings recordings
COPY config config
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["callcenter", "serve"]
