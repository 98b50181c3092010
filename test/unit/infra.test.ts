import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseTemplate, validateTemplate } from "../helpers/cfn.ts";

const TEXT = readFileSync(join(import.meta.dir, "../../infra/fargate_cluster.yaml"), "utf8");

describe("infra/fargate_cluster.yaml", () => {
  const t = parseTemplate(TEXT);

  test("is valid against the CloudFormation resource specification", () => {
    expect(validateTemplate(t)).toEqual([]);
  });

  test("takes the account's ids as parameters, hard-codes none", () => {
    for (const p of ["VpcId", "SubnetIds", "ImageUri", "CallerCidr", "TaskCpu", "TaskMemory", "LogRetentionDays"]) {
      expect(Object.keys(t.Parameters)).toContain(p);
    }
    expect(TEXT).not.toMatch(/\b\d{12}\b(?!\.dkr)/); // no account number outside the ImageUri example
    expect(TEXT).not.toMatch(/\b(vpc|subnet|sg)-[0-9a-f]{8,}/);
  });

  test("opens only tcp/5000, only to the caller", () => {
    const ingress = t.Resources.SecurityGroup.Properties.SecurityGroupIngress;
    expect(ingress).toEqual([{ IpProtocol: "tcp", FromPort: 5000, ToPort: 5000, CidrIp: { Ref: "CallerCidr" }, Description: "vat client" }]);
  });

  test("the task runs vat on port 5000 with awslogs; the task role has no permissions", () => {
    const td = t.Resources.TaskDefinition.Properties;
    expect(td.RequiresCompatibilities).toEqual(["FARGATE"]);
    expect(td.NetworkMode).toBe("awsvpc");
    expect(td.ContainerDefinitions[0].Name).toBe("vat");
    expect(td.ContainerDefinitions[0].PortMappings[0].ContainerPort).toBe(5000);
    expect(td.ContainerDefinitions[0].LogConfiguration.LogDriver).toBe("awslogs");
    expect(t.Resources.TaskRole.Properties.Policies).toBeUndefined();
    expect(t.Resources.TaskRole.Properties.ManagedPolicyArns).toBeUndefined();
  });

  test("the launcher policy is scoped: no wildcard actions, PassRole only to ECS tasks, RunTask only in the cluster", () => {
    const st = t.Resources.LauncherPolicy.Properties.PolicyDocument.Statement as Record<string, any>[];
    for (const s of st) for (const a of [s.Action].flat()) expect(a).not.toContain("*");
    const pass = st.find((s) => s.Action === "iam:PassRole")!;
    expect(pass.Resource).toEqual([{ "Fn::GetAtt": ["ExecutionRole", "Arn"] }, { "Fn::GetAtt": ["TaskRole", "Arn"] }]);
    expect(pass.Condition).toEqual({ StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } });
    const run = st.find((s) => s.Action === "ecs:RunTask")!;
    expect(run.Condition.ArnEquals["ecs:cluster"]).toEqual({ "Fn::GetAtt": ["Cluster", "Arn"] });
    // Only DescribeNetworkInterfaces and ListTasks (cluster-conditioned) may name every resource.
    for (const s of st.filter((s) => s.Resource === "*")) {
      expect(s.Action === "ec2:DescribeNetworkInterfaces" || (s.Action === "ecs:ListTasks" && s.Condition !== undefined)).toBe(true);
    }
  });

  test("outputs what the launcher needs", () => {
    for (const o of ["ClusterName", "TaskDefinitionArn", "ContainerName", "ContainerPort", "SubnetIds", "SecurityGroupId"]) {
      expect(Object.keys(t.Outputs)).toContain(o);
    }
    // The port it exports is the one the container maps.
    const container = t.Resources.TaskDefinition.Properties.ContainerDefinitions[0];
    expect(Number(t.Outputs.ContainerPort.Value)).toBe(container.PortMappings[0].ContainerPort);
  });
});

describe("the validator catches a broken copy", () => {
  test.each([
    ["an unknown resource type", (s: string) => s.replace("Type: AWS::ECS::Cluster", "Type: AWS::ECS::Clustre"), /unknown resource type AWS::ECS::Clustre/],
    ["an unknown property", (s: string) => s.replace("      NetworkMode: awsvpc", "      NetworkMode: awsvpc\n      NetworkSpeed: fast"), /TaskDefinition\.Properties: unknown property NetworkSpeed/],
    ["an unknown nested property", (s: string) => s.replace("              Protocol: tcp", "              Protocol: tcp\n              Colour: red"), /PortMappings\[0\]: unknown property Colour/],
    ["a missing required property", (s: string) => s.replace("      GroupDescription: vat serve, port 5000 from the caller only\n", ""), /SecurityGroup\.Properties: required property GroupDescription is missing/],
    ["a missing required nested property", (s: string) => s.replace("          Image: !Ref ImageUri\n", ""), /ContainerDefinitions\[0\]: required property Image is missing/],
    ["a Ref to an unknown name", (s: string) => s.replace("VpcId: !Ref VpcId", "VpcId: !Ref TheVpc"), /Ref to unknown 'TheVpc'/],
    ["a GetAtt of an unknown resource", (s: string) => s.replace("!GetAtt TaskRole.Arn", "!GetAtt TaskRoll.Arn"), /Fn::GetAtt of unknown resource 'TaskRoll'/],
    ["a GetAtt of an unknown attribute", (s: string) => s.replace("!GetAtt SecurityGroup.GroupId", "!GetAtt SecurityGroup.Port"), /AWS::EC2::SecurityGroup has no attribute 'Port'/],
    ["a Sub of an unknown variable", (s: string) => s.replace("/ecs/${AWS::StackName}/vat", "/ecs/${StackNam}/vat"), /Fn::Sub variable '\$\{StackNam\}' is unknown/],
    ["an unknown condition", (s: string) => s.replace("    Condition: MakeRepository\n    Properties:", "    Condition: MakeRepo\n    Properties:"), /unknown condition 'MakeRepo'/],
  ])("%s", (_what, breakIt, message) => {
    const broken = breakIt(TEXT);
    expect(broken).not.toBe(TEXT);
    const errors = validateTemplate(parseTemplate(broken));
    expect(errors.join("\n")).toMatch(message);
  });
});
