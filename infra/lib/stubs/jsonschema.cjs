// What the deployed bundles get for `jsonschema` (esbuild alias, infra/lib/bundling.ts). ElectroDB uses it for
// one thing: checking a model against its JSON schema, when an entity is constructed (at every cold start, for
// models that are constants of our code) and when a Service is given something, to tell a model from an entity.
// This stand-in answers the second question the way the real validator does (the schema's required keys at the
// root, and the `required: true` ones one level down) and skips the deep walk: the tests construct the same
// entities with the real validator (the alias is for bundles only), so an invalid model fails there, and
// test/infra/jsonschema-stub.test.ts checks both give the same verdicts. Saves ~55 KiB and, per entity, the
// schema walk at import.
const isObject = (x) => x !== null && typeof x === 'object';
const missing = (value, schema, path) => {
  const out = [];
  if (!isObject(value)) return [{ property: path, message: 'is not of a type(s) object' }];
  const required = Array.isArray(schema.required) ? schema.required : [];
  for (const key of required)
    if (value[key] === undefined) out.push({ property: path, message: `requires property "${key}"` });
  for (const [key, sub] of Object.entries(schema.properties ?? {}))
    if (isObject(sub) && sub.required === true && value[key] === undefined)
      out.push({ property: path, message: `requires property "${key}"` });
    else if (isObject(sub) && sub.type === 'object' && isObject(value[key]))
      for (const [inner, innerSchema] of Object.entries(sub.properties ?? {}))
        if (isObject(innerSchema) && innerSchema.required === true && value[key][inner] === undefined)
          out.push({ property: `${path}.${key}`, message: `requires property "${inner}"` });
  return out;
};
class Validator {
  addSchema() {}
  validate(value, schema) {
    const errors = missing(value, schema ?? {}, 'instance');
    return { errors, valid: errors.length === 0 };
  }
}
Validator.prototype.customFormats = {};
module.exports = { Validator };
