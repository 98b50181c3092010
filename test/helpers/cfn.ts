import { loadAwsServiceSpecSync } from "@aws-cdk/aws-service-spec";
import yaml from "js-yaml";

/**
 * Offline CloudFormation template checks against AWS's published resource specification (the database bundled in
 * @aws-cdk/aws-service-spec): resource types, property names (nested ones too), required properties, and every
 * Ref, Fn::GetAtt, Fn::Sub variable, Condition and DependsOn pointing at something that exists.
 */

const INTRINSICS: [string, string, "scalar" | "sequence" | "mapping"][] = [];
for (const kind of ["scalar", "sequence", "mapping"] as const) {
  for (const [tag, key] of [
    ["Ref", "Ref"], ["Sub", "Fn::Sub"], ["GetAtt", "Fn::GetAtt"], ["Join", "Fn::Join"], ["Select", "Fn::Select"],
    ["Split", "Fn::Split"], ["If", "Fn::If"], ["Equals", "Fn::Equals"], ["Not", "Fn::Not"], ["And", "Fn::And"],
    ["Or", "Fn::Or"], ["FindInMap", "Fn::FindInMap"], ["ImportValue", "Fn::ImportValue"], ["Base64", "Fn::Base64"],
    ["Cidr", "Fn::Cidr"], ["GetAZs", "Fn::GetAZs"], ["Condition", "Condition"],
  ]) {
    INTRINSICS.push([tag!, key!, kind]);
  }
}

const SCHEMA = yaml.DEFAULT_SCHEMA.extend(
  INTRINSICS.map(
    ([tag, key, kind]) =>
      new yaml.Type(`!${tag}`, {
        kind,
        construct: (data: unknown) => ({
          [key]: key === "Fn::GetAtt" && typeof data === "string" ? data.split(".", 2) : data,
        }),
      }),
  ),
);

export function parseTemplate(text: string): Record<string, any> {
  return yaml.load(text, { schema: SCHEMA }) as Record<string, any>;
}

const PSEUDO = new Set([
  "AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region", "AWS::StackId",
  "AWS::StackName", "AWS::URLSuffix",
]);
const TOP_LEVEL = new Set([
  "AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Mappings", "Conditions", "Transform",
  "Resources", "Outputs", "Rules",
]);
const RESOURCE_KEYS = new Set([
  "Type", "Properties", "DependsOn", "Condition", "Metadata", "DeletionPolicy", "UpdateReplacePolicy", "CreationPolicy",
  "UpdatePolicy",
]);

type Spec = ReturnType<typeof loadAwsServiceSpecSync>;
let spec: Spec | null = null;

function resourceSpec(type: string): any | undefined {
  spec ??= loadAwsServiceSpecSync();
  return spec.lookup("resource", "cloudFormationType", "equals", type)[0];
}

function typeDefinition(ref: string): any | undefined {
  spec ??= loadAwsServiceSpecSync();
  try {
    return spec.get("typeDefinition", ref);
  } catch {
    return undefined;
  }
}

function isIntrinsic(v: unknown): boolean {
  if (!v || typeof v !== "object" || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && (keys[0] === "Ref" || keys[0]!.startsWith("Fn::"));
}

export function validateTemplate(t: Record<string, any>): string[] {
  const errors: string[] = [];
  for (const k of Object.keys(t)) if (!TOP_LEVEL.has(k)) errors.push(`unknown top-level section ${k}`);
  const params = new Set(Object.keys(t.Parameters ?? {}));
  const resources: Record<string, any> = t.Resources ?? {};
  const conditions = new Set(Object.keys(t.Conditions ?? {}));
  const names = new Set([...params, ...Object.keys(resources)]);
  if (Object.keys(resources).length === 0) errors.push("no Resources");

  const checkRefs = (v: unknown, where: string, subVars: Set<string> = new Set()): void => {
    if (Array.isArray(v)) return v.forEach((x, i) => checkRefs(x, `${where}[${i}]`, subVars));
    if (!v || typeof v !== "object") return;
    const o = v as Record<string, any>;
    if ("Ref" in o && Object.keys(o).length === 1) {
      if (typeof o.Ref !== "string" || (!names.has(o.Ref) && !PSEUDO.has(o.Ref))) errors.push(`${where}: Ref to unknown '${o.Ref}'`);
      return;
    }
    if ("Fn::GetAtt" in o) {
      const [name, attr] = o["Fn::GetAtt"] as [string, string];
      const r = resources[name];
      if (!r) errors.push(`${where}: Fn::GetAtt of unknown resource '${name}'`);
      else {
        const rs = resourceSpec(r.Type);
        if (rs && !(attr in (rs.attributes ?? {}))) errors.push(`${where}: ${r.Type} has no attribute '${attr}'`);
      }
      return;
    }
    if ("Fn::Sub" in o) {
      const sub = o["Fn::Sub"];
      const [text, vars] = Array.isArray(sub) ? [sub[0], sub[1] ?? {}] : [sub, {}];
      const local = new Set(Object.keys(vars));
      for (const m of String(text).matchAll(/\$\{([^!}][^}]*)\}/g)) {
        const [name, attr] = m[1]!.split(".", 2);
        if (local.has(m[1]!)) continue;
        if (attr !== undefined) checkRefs({ "Fn::GetAtt": [name, attr] }, where);
        else if (!names.has(name!) && !PSEUDO.has(name!)) errors.push(`${where}: Fn::Sub variable '\${${name}}' is unknown`);
      }
      checkRefs(vars, where);
      return;
    }
    if ("Condition" in o && typeof o.Condition === "string" && Object.keys(o).length === 1 && !conditions.has(o.Condition)) {
      errors.push(`${where}: unknown condition '${o.Condition}'`);
    }
    if ("Fn::If" in o && !conditions.has(o["Fn::If"][0])) errors.push(`${where}: Fn::If on unknown condition '${o["Fn::If"][0]}'`);
    for (const [k, x] of Object.entries(o)) checkRefs(x, `${where}.${k}`, subVars);
  };

  const checkProps = (value: unknown, props: Record<string, any>, where: string): void => {
    if (!value || typeof value !== "object" || Array.isArray(value) || isIntrinsic(value)) return;
    const given = value as Record<string, unknown>;
    for (const [name, p] of Object.entries(props)) {
      if (p.required && !(name in given)) errors.push(`${where}: required property ${name} is missing`);
    }
    for (const [name, v] of Object.entries(given)) {
      const p = props[name];
      if (!p) {
        errors.push(`${where}: unknown property ${name}`);
        continue;
      }
      checkType(v, p.type, `${where}.${name}`);
    }
  };

  const checkType = (v: unknown, type: any, where: string): void => {
    if (!type || isIntrinsic(v)) return;
    if (type.type === "ref") {
      const td = typeDefinition(type.reference.$ref);
      if (td) checkProps(v, td.properties ?? {}, where);
    } else if (type.type === "array" && Array.isArray(v)) {
      v.forEach((x, i) => checkType(x, type.element, `${where}[${i}]`));
    } else if (type.type === "map" && v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) checkType(x, type.element, `${where}.${k}`);
    } else if (type.type === "union") {
      // Any of several shapes: too loose to judge here.
    }
  };

  for (const [name, r] of Object.entries(resources)) {
    const where = `Resources.${name}`;
    for (const k of Object.keys(r ?? {})) if (!RESOURCE_KEYS.has(k)) errors.push(`${where}: unknown attribute ${k}`);
    if (r?.Condition && !conditions.has(r.Condition)) errors.push(`${where}: unknown condition '${r.Condition}'`);
    for (const dep of [r?.DependsOn ?? []].flat()) if (!(dep in resources)) errors.push(`${where}: DependsOn unknown '${dep}'`);
    const type = r?.Type as string;
    if (typeof type !== "string") {
      errors.push(`${where}: no Type`);
      continue;
    }
    if (type.startsWith("Custom::")) continue;
    const rs = resourceSpec(type);
    if (!rs) {
      errors.push(`${where}: unknown resource type ${type}`);
      continue;
    }
    checkProps(r.Properties ?? {}, rs.properties ?? {}, `${where}.Properties`);
    checkRefs(r.Properties ?? {}, `${where}.Properties`);
  }
  checkRefs(t.Conditions ?? {}, "Conditions");
  for (const [name, o] of Object.entries<any>(t.Outputs ?? {})) {
    if (!o || !("Value" in o)) errors.push(`Outputs.${name}: no Value`);
    if (o?.Condition && !conditions.has(o.Condition)) errors.push(`Outputs.${name}: unknown condition '${o.Condition}'`);
    checkRefs(o?.Value, `Outputs.${name}.Value`);
  }
  return errors;
}
