# One image for every service process; the command chooses which (see deploy/compose.yaml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts contracts
COPY services services
COPY deploy deploy
RUN pip install --no-cache-dir . && useradd --system shop
USER shop
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["python", "-m", "uvicorn", "--factory", "services.orders.main:app", "--host", "0.0.0.0", "--port", "8000"]
