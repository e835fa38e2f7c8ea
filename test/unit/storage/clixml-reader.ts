// An independent CLIXML reader for tests: fast-xml-parser's XMLParser for the XML, and a small
// walker that checks the structure Import-Clixml relies on while turning it back into values.
import { XMLParser } from 'fast-xml-parser';

/** An element as XMLParser's preserveOrder mode gives it: `{ tag: children, ':@': attributes }`. */
type Node = Record<string, unknown>;

/** A member or list item as read back: its tag (S, I32, Obj…), its N attribute and its value. */
export interface ReadMember {
  tag: string;
  name: string | undefined;
  value: unknown;
}

export interface ReadDocument {
  objects: Record<string, unknown>[];
  /** Per object, its members with their tags, in document order. */
  members: ReadMember[][];
  /** Every `<Obj RefId>` in document order. */
  objRefIds: number[];
  /** Type name lists by TN RefId, as declared. */
  typeNames: Map<number, string[]>;
  /** Per top-level object: 'TN' when it declared its type, 'TNRef' when it referred to it. */
  topTypeForm: ('TN' | 'TNRef')[];
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
});

/** `_xHHHH_` back to the UTF-16 code unit, as PowerShell's deserializer does. */
export function decodeClixmlString(text: string): string {
  return text.replace(/_x([0-9A-Fa-f]{4})_/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function tagOf(node: Node): string {
  const tag = Object.keys(node).find((key) => key !== ':@');
  if (tag === undefined) throw new Error(`node without tag: ${JSON.stringify(node)}`);
  return tag;
}

function attrs(node: Node): Record<string, string> {
  return (node[':@'] as Record<string, string> | undefined) ?? {};
}

function children(node: Node): Node[] {
  const value = node[tagOf(node)];
  return Array.isArray(value) ? (value as Node[]).filter((child) => !isWhitespace(child)) : [];
}

function isWhitespace(node: Node): boolean {
  return tagOf(node) === '#text' && String(node['#text']).trim() === '';
}

function textOf(node: Node): string {
  const kids = node[tagOf(node)] as Node[];
  // With parseTagValue off every text node is a string.
  return kids.map((kid) => (typeof kid['#text'] === 'string' ? kid['#text'] : '')).join('');
}

export function readClixml(xml: string): ReadDocument {
  const top = (parser.parse(xml) as Node[]).filter((node) => !isWhitespace(node));
  if (top.length !== 1 || tagOf(top[0]!) !== 'Objs') throw new Error(`root is not a single Objs: ${top.map(tagOf).join(',')}`);
  const root = top[0]!;
  const rootAttrs = attrs(root);
  if (rootAttrs['Version'] !== '1.1.0.1' || rootAttrs['xmlns'] !== 'http://schemas.microsoft.com/powershell/2004/04') {
    throw new Error(`bad Objs attributes ${JSON.stringify(rootAttrs)}`);
  }
  const doc: ReadDocument = { objects: [], members: [], objRefIds: [], typeNames: new Map(), topTypeForm: [] };

  const readTypeNames = (node: Node): string[] => {
    if (tagOf(node) === 'TN') {
      const names = children(node).map((t) => {
        if (tagOf(t) !== 'T') throw new Error('TN holds a non-T element');
        return textOf(t);
      });
      const refId = Number(attrs(node)['RefId']);
      if (doc.typeNames.has(refId)) throw new Error(`TN RefId ${refId} declared twice`);
      doc.typeNames.set(refId, names);
      return names;
    }
    if (tagOf(node) === 'TNRef') {
      const names = doc.typeNames.get(Number(attrs(node)['RefId']));
      if (names === undefined) throw new Error(`TNRef ${attrs(node)['RefId']} before its TN`);
      return names;
    }
    throw new Error(`expected TN or TNRef, got ${tagOf(node)}`);
  };

  const readObj = (node: Node): unknown => {
    doc.objRefIds.push(Number(attrs(node)['RefId']));
    const [typeNode, body, ...rest] = children(node);
    if (typeNode === undefined || body === undefined || rest.length > 0) throw new Error('Obj must hold TN/TNRef and one body');
    const names = readTypeNames(typeNode);
    if (tagOf(body) === 'LST') {
      if (names[0] !== 'System.Collections.ArrayList') throw new Error(`LST in a ${names[0]}`);
      return children(body).map((item) => {
        if (attrs(item)['N'] !== undefined) throw new Error('list item with N');
        return readValue(item).value;
      });
    }
    if (tagOf(body) === 'MS') {
      if (names[0] !== 'Deserialized.System.Management.Automation.PSCustomObject') throw new Error(`MS in a ${names[0]}`);
      return readMembers(body).object;
    }
    throw new Error(`unexpected Obj body ${tagOf(body)}`);
  };

  const readValue = (node: Node): ReadMember => {
    const tag = tagOf(node);
    const name = attrs(node)['N'];
    const decodedName = name === undefined ? undefined : decodeClixmlString(name);
    const text = tag === 'Obj' || tag === 'Nil' ? '' : textOf(node);
    let value: unknown;
    switch (tag) {
      case 'S':
        value = decodeClixmlString(text);
        break;
      case 'B':
        if (text !== 'true' && text !== 'false') throw new Error(`B holds ${text}`);
        value = text === 'true';
        break;
      case 'I16':
      case 'I32':
      case 'I64':
      case 'Db':
        value = Number(text);
        break;
      case 'DT':
      case 'G':
        value = text;
        break;
      case 'Nil':
        if (children(node).length > 0) throw new Error('Nil with content');
        value = null;
        break;
      case 'Obj':
        value = readObj(node);
        break;
      default:
        throw new Error(`unexpected element ${tag}`);
    }
    return { tag, name: decodedName, value };
  };

  const readMembers = (ms: Node): { object: Record<string, unknown>; members: ReadMember[] } => {
    const object: Record<string, unknown> = {};
    const members: ReadMember[] = [];
    for (const child of children(ms)) {
      const member = readValue(child);
      if (member.name === undefined) throw new Error(`member ${member.tag} without N`);
      object[member.name] = member.value;
      members.push(member);
    }
    return { object, members };
  };

  for (const node of children(root)) {
    if (tagOf(node) !== 'Obj') throw new Error(`Objs holds ${tagOf(node)}`);
    if (attrs(node)['N'] !== undefined) throw new Error('top-level Obj with N');
    doc.objRefIds.push(Number(attrs(node)['RefId']));
    const [typeNode, ms, ...rest] = children(node);
    if (typeNode === undefined || ms === undefined || tagOf(ms) !== 'MS' || rest.length > 0) throw new Error('top-level Obj must be TN/TNRef + MS');
    doc.topTypeForm.push(tagOf(typeNode) === 'TN' ? 'TN' : 'TNRef');
    const names = readTypeNames(typeNode);
    if (names.join('|') !== 'Deserialized.System.Management.Automation.PSCustomObject|Deserialized.System.Object') {
      throw new Error(`top-level type ${names.join('|')}`);
    }
    const { object, members } = readMembers(ms);
    doc.objects.push(object);
    doc.members.push(members);
  }
  return doc;
}
