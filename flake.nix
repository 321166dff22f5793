{
  description = "ml-inference-app: a logistic-regression model as a small, proven container service";

  # nixpkgs 26.05 ships rustc and cargo 1.95.0, the version rust-toolchain.toml pins.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";

  outputs = { self, nixpkgs }:
    let
      lib = nixpkgs.lib;
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      version = "0.1.0";
      # The same labels as the Dockerfile's image.
      labels = {
        "org.opencontainers.image.title" = "ml-inference-app";
        "org.opencontainers.image.description" =
          "Logistic-regression inference over HTTP: a simple JSON API and the Open Inference Protocol (V2)";
        "org.opencontainers.image.version" = version;
        "org.opencontainers.image.revision" = self.rev or "dirty";
        "org.opencontainers.image.created" = "1970-01-01T00:00:01Z";
        "org.opencontainers.image.licenses" = "MIT OR Apache-2.0";
        "org.opencontainers.image.source" = "https://github.com/ml-inference-app/ml-inference-app";
      };
    in
    {
      packages = forAllSystems (pkgs:
        let
          server = pkgs.rustPlatform.buildRustPackage {
            pname = "server";
            inherit version;
            src = lib.fileset.toSource {
              root = ./.;
              fileset = lib.fileset.unions [
                ./Cargo.toml
                ./Cargo.lock
                ./server
                ./harness
                ./fixtures
              ];
            };
            cargoLock.lockFile = ./Cargo.lock;
            cargoBuildFlags = [ "-p" "server" "--bin" "server" ];
            # The server's own tests need no Docker; the harness's container tests run under
            # `nix develop -c cargo test`, where Docker is reachable, not in the build sandbox.
            cargoTestFlags = [ "-p" "server" ];
            # A static glibc binary, like the Dockerfile's: the image needs no store paths.
            buildInputs = [ pkgs.glibc.static ];
            RUSTFLAGS = "-C target-feature=+crt-static";
            dontPatchELF = true;
            meta = {
              description = "Logistic-regression inference service";
              license = with lib.licenses; [ mit asl20 ];
              mainProgram = "server";
            };
          };
        in
        {
          inherit server;
          default = server;

          # The image: the static binary and the default artifact at the root, nothing else.
          # dockerTools fixes file times and `created`, so two builds give the same image.
          image = pkgs.dockerTools.buildLayeredImage {
            name = "ml-inference-app";
            tag = "nix";
            extraCommands = ''
              cp ${server}/bin/server server
              cp ${./fixtures/models/wine-quality.json} wine-quality.json
            '';
            config = {
              User = "65532:65532";
              ExposedPorts."8000/tcp" = { };
              Entrypoint = [ "/server" ];
              Healthcheck = {
                Test = [ "CMD" "/server" "healthcheck" ];
                Interval = 5000000000;
                Timeout = 2000000000;
                StartPeriod = 5000000000;
                Retries = 3;
              };
              Labels = labels;
            };
          };
        });

      checks = forAllSystems (pkgs: {
        server = self.packages.${pkgs.stdenv.hostPlatform.system}.server;
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.rustc
            pkgs.cargo
            pkgs.clippy
            pkgs.rustfmt
            pkgs.rust-analyzer
            pkgs.docker-client
            pkgs.git
            pkgs.hadolint
            pkgs.actionlint
            # For the harness's static server build.
            pkgs.glibc.static
          ];
        };
      });

      formatter = forAllSystems (pkgs: pkgs.nixpkgs-fmt);
    };
}
