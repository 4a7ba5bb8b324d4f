// Entry point of the bootstrap project (infra/bootstrap/Pulumi.yaml): the state backend and the
// secrets key the sites' stacks stand on. Outputs: backendUrl, secretsProvider, replicaBucket.
import { bootstrapProgram } from "./program";

export = bootstrapProgram();
