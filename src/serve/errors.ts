// Errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}}, with the HTTP status
// that goes with them. Every route throws ApiError; the server's error handler turns anything else
// (fastify's own 413, a JSON parse error) into the same shape.
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  /** Extra headers (Retry-After on 429). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    message: string,
    o: { type?: string; param?: string | null; code?: string | null; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.type = o.type ?? defaultType(status);
    this.param = o.param ?? null;
    this.code = o.code ?? null;
    this.headers = Object.freeze({ ...o.headers });
  }

  body(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

function defaultType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export const badRequest = (message: string, param: string | null = null): ApiError => new ApiError(400, message, { param });
