// Entry point of the Pulumi project (Pulumi.yaml: main: infra/). Pulumi calls the exported
// function and publishes what it returns as the stack's outputs (typed in ./outputs.ts).
import { program } from "./program";

export = program;
