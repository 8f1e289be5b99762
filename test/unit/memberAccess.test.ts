import assert from "node:assert/strict";
import { describe, test } from "node:test";
import path from "node:path";
import {
    assignedFields,
    declaredType,
    exportedNames,
    isPublicMember,
    memberAccessAt,
    memberContinuations,
    moduleFiles,
    namespaceModule,
    usedNearby
} from "../../server/completion/memberAccess";

describe("member access", () => {
    test("the object before the cursor and what is typed of the member", () => {
        assert.deepEqual(memberAccessAt("    const total = cart."), { receiver: "cart", typed: "" });
        assert.deepEqual(memberAccessAt("cart?.comp"), { receiver: "cart", typed: "comp" });
        assert.equal(memberAccessAt("a.b."), undefined, "a chain: the type of a.b is not declared");
        assert.equal(memberAccessAt("this."), undefined, "this file shows this's members");
        assert.equal(memberAccessAt("x = 1."), undefined);
        assert.equal(memberAccessAt("const total = cart"), undefined);
        assert.equal(memberAccessAt("    // the items kept in cart."), undefined, "a comment");
        assert.equal(memberAccessAt('    log("added to cart.'), undefined, "a string");
        assert.equal(memberAccessAt("    * see cart."), undefined, "a doc comment");
    });

    test("the type an object is declared with, nearest the cursor", () => {
        assert.equal(declaredType("function f(cart: ShoppingCart) {\n  ", "cart"), "ShoppingCart");
        assert.equal(declaredType("const cart = new ShoppingCart();\n", "cart"), "ShoppingCart");
        assert.equal(declaredType("cart = Cart(items)\n", "cart"), "Cart", "Python's construction");
        assert.equal(
            declaredType("let cart: OldCart;\ncart = new NewCart();\n", "cart"),
            "NewCart",
            "the nearest declaration wins"
        );
        assert.equal(
            declaredType("const carts: Map<string, Cart> = x;\n", "carts"),
            undefined,
            "generics not followed"
        );
        assert.equal(declaredType("const c: A | B = x;\n", "c"), undefined, "unions not followed");
        assert.equal(declaredType("mycart: Cart\n", "cart"), undefined, "a longer name is not the object");
        assert.equal(declaredType("", "Semver"), undefined, "a bare class name: its static members are not known");
        assert.equal(declaredType("", "cart"), undefined);
    });

    test("a member chunk's member is offered only when other files can use it", () => {
        assert.equal(isPublicMember("    addItem(x: number): void {\n    }", "addItem"), true);
        assert.equal(isPublicMember("    private items: number[] = [];", "items"), false);
        assert.equal(isPublicMember("    @memo()\n    protected static async load() {}", "load"), false);
        assert.equal(isPublicMember("    static create() {}", "create"), false, "static: not on an instance");
        assert.equal(isPublicMember("    constructor() {}", "constructor"), false);
        assert.equal(isPublicMember("    def _helper(self):", "_helper"), false);
    });

    test("the rest of the member names that fit what is typed", () => {
        const members = ["add", "addAll", "total"];
        assert.deepEqual(memberContinuations(members, ""), ["add", "addAll", "total"]);
        assert.deepEqual(memberContinuations(members, "to"), ["tal"]);
        assert.deepEqual(memberContinuations(members, "add"), [], "a whole name typed: no constraint");
        assert.deepEqual(memberContinuations(members, "zz"), [], "an unknown name: no constraint");
    });
});

describe("namespace imports", () => {
    test("the module a receiver imports, and the files it may be", () => {
        const head =
            'import * as Is from "./is";\nconst messages_1 = require("./messages");\nimport * as fs from "node:fs";\n';
        assert.equal(namespaceModule(head, "Is"), "./is");
        assert.equal(namespaceModule(head, "messages_1"), "./messages");
        assert.equal(namespaceModule(head, "fs"), undefined, "not a file of the workspace");
        assert.equal(namespaceModule(head, "other"), undefined);
        const files = moduleFiles("/w/src/main.ts", "./lib/util.js", path.posix.join);
        assert.ok(files.includes("/w/src/lib/util.js") && files.includes("/w/src/lib/util.ts"), files.join(" "));
        assert.ok(moduleFiles("/w/src/main.ts", "../is", path.posix.join).includes("/w/is.ts"));
    });

    test("a namespace import reaches what the module exports: ES exports, CommonJS exports, Python's public names", () => {
        const es = [
            "export function parse(s: string) {}",
            "function helper() {}",
            "export class Range {}",
            "const local = 1;",
            "export { local as shared, helper };",
            "export default async function main() {}"
        ].join("\n");
        assert.deepEqual(exportedNames(["parse", "helper", "Range", "local", "main"], es), [
            "parse",
            "helper",
            "Range",
            "main"
        ]);
        const cjs = "function a() {}\nfunction b() {}\nfunction c() {}\nexports.a = a;\nmodule.exports = { b, d: c };";
        assert.deepEqual(exportedNames(["a", "b", "c"], cjs), ["a", "b"]);
        assert.deepEqual(exportedNames(["load", "_cache"], "def load():\n    pass\n_cache = {}\n"), ["load"]);
    });
});

describe("members: fields and the names near the cursor", () => {
    test("fields JavaScript declares by assigning them, not comparisons, not private ones", () => {
        const ctor =
            "constructor(v) {\n  this.major = +m[1];\n  this.minor = +m[2];\n  this._raw = v;\n  if (this.major == 0) {}\n}";
        assert.deepEqual(assignedFields(ctor), ["major", "minor"]);
    });

    test("a name used near the cursor as a word, or as the last part of a camel-case name", () => {
        const members = ["patch", "compare", "Emitter", "Event", "ConnectionError"];
        assert.deepEqual(usedNearby(members, "if (this.patch < other."), ["patch"]);
        assert.deepEqual(usedNearby(members, "this.closeEmitter = new events_1."), ["Emitter"]);
        assert.deepEqual(usedNearby(members, 'Object.defineProperty(exports, "ConnectionError", {'), [
            "ConnectionError"
        ]);
        assert.deepEqual(usedNearby(members, "const patches = comparer.compared;"), []);
    });
});
