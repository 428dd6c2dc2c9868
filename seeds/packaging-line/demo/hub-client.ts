/** The demo's calls to the hub's public API, with a bearer token: what any script of an operator does. */
export class HubClient {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  async get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    // verify answers 409 with where the chain breaks: an answer, not a failure.
    if (!response.ok && !(response.status === 409 && path.startsWith('/api/v1/audit/verify')))
      throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
    return parsed as T;
  }

  /** Every current object of a type, page by page. */
  async objects<T = Record<string, unknown>>(
    type: string,
  ): Promise<Array<{ key: string; sourceSystem: string; data: T }>> {
    const all: Array<{ key: string; sourceSystem: string; data: T }> = [];
    let after: string | undefined;
    do {
      const page = await this.get<{ objects: Array<{ key: string; sourceSystem: string; data: T }>; next?: string }>(
        `/api/v1/objects?type=${type}&limit=1000${after ? `&after=${encodeURIComponent(after)}` : ''}`,
      );
      all.push(...page.objects);
      after = page.next;
    } while (after);
    return all;
  }
}
