/**
 * How the web UI checks what a request brings against its route's schemas (src/web/api/schemas.ts),
 * and what a refused request is told. One Ajv instance, strict, that never coerces or strips: a body
 * that says `"enabled": "true"` or carries a field the route does not take is refused, not read
 * generously. Query values are text and are matched by pattern (so `1e9`, `0x10` or ` 5` are not
 * numbers here).
 *
 * The reason given comes from the schema only (its `refusal` text, or the name of the field the
 * schema declares), never from the request, so an error cannot quote an attacker's bytes back. A
 * malformed URL parameter answers 404: an id that cannot exist names nothing, like an unknown one.
 */
import { Ajv, type ErrorObject } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

/** A request refused by its route's schema; the server's error handler counts and answers it. */
export class SchemaRefusal extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = 'SchemaRefusal';
  }
}

/** The schema keyword holding what a refused value is told (an annotation: it does not validate). */
export const REFUSAL_KEYWORD = 'refusal';

const ajv = new Ajv({ strict: true, allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false });
ajv.addKeyword({ keyword: REFUSAL_KEYWORD, schemaType: 'string' });

interface SchemaNode {
  refusal?: string;
  properties?: Record<string, SchemaNode>;
  anyOf?: SchemaNode[];
}

/** The properties a schema declares, through a union (a nullable object) too. */
function propertiesOf(node: SchemaNode): Record<string, SchemaNode> | undefined {
  return node.properties ?? node.anyOf?.find((b) => b.properties)?.properties;
}

function declared(props: Record<string, SchemaNode> | undefined, name: string): SchemaNode | undefined {
  return props && Object.hasOwn(props, name) ? props[name] : undefined;
}

const PARTS: Record<string, string> = { body: 'the body', querystring: 'the query', params: 'the address' };

/** What to tell a client about the first error, from the schema alone. */
export function refusalReason(root: SchemaNode, errors: readonly ErrorObject[], httpPart: string): string {
  const e = errors[0];
  const part = PARTS[httpPart] ?? 'the request';
  if (!e) return `${part} is not valid`;
  // Walk the schema along the failing value's path as far as the schema declares properties.
  let node = root;
  let name: string | undefined;
  for (const raw of e.instancePath.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const child = declared(propertiesOf(node), seg);
    if (!child) break;
    node = child;
    name = name ? `${name}.${seg}` : seg;
  }
  const props = propertiesOf(node);
  if (e.keyword === 'required' && props) {
    const missing = String((e.params as { missingProperty?: unknown }).missingProperty);
    const child = declared(props, missing);
    if (child) return child.refusal ?? `${name ? `${name}.` : ''}${missing} is required`;
  }
  if (e.keyword === 'additionalProperties' && props) {
    const allowed = Object.keys(props);
    const where = name ?? part;
    return allowed.length === 0 ? `${where} takes no fields` : `${where} takes only ${allowed.join(', ')}`;
  }
  if (node.refusal) return node.refusal;
  return name ? `${name} is not valid` : `${part} is not valid`;
}

/** What a malformed URL parameter is told: its own refusal text if it has one, else not found. */
function paramRefusal(root: SchemaNode, errors: readonly ErrorObject[]): string {
  const param = errors[0]?.instancePath.split('/')[1];
  return (param !== undefined ? declared(root.properties, param)?.refusal : undefined) ?? 'not found';
}

/** The validator compiler for every route of the web server. */
export const webValidatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const check = ajv.compile(schema as object);
  const part = httpPart ?? 'body';
  return (data: unknown) => {
    if (check(data)) return true;
    const errors = check.errors ?? [];
    const refusal = part === 'params' ? new SchemaRefusal(paramRefusal(schema as SchemaNode, errors), 404) : new SchemaRefusal(refusalReason(schema as SchemaNode, errors, part), 400);
    return { error: refusal };
  };
};
