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
      # The server and the image builder for one system's packages.
      build = pkgs: rec {
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
              # The server's tests run the README's examples.
              ./README.md
            ];
          };
          cargoLock.lockFile = ./Cargo.lock;
          cargoBuildFlags = [ "-p" "server" "--bin" "server" ];
          # The server's own tests need no Docker; the harness's container tests run under
          # `nix develop -c cargo test`, where Docker is reachable, not in the build sandbox.
          cargoTestFlags = [ "-p" "server" ];
          # A static glibc binary, like the Dockerfile's: the image needs no store paths.
          buildInputs = [ pkgs.glibc.static ];
          nativeBuildInputs = [ pkgs.removeReferencesTo ];
          RUSTFLAGS = "-C target-feature=+crt-static";
          dontPatchELF = true;
          # Static glibc keeps its store paths (locale and gconv directories) in the binary's
          # bytes, so Nix would count glibc as a runtime dependency and put its closure into
          # the image. The binary never opens them; cutting them out leaves no reference, and
          # allowedReferences makes the build fail loudly if any store path remains.
          postFixup = ''
            remove-references-to -t ${pkgs.glibc} -t ${pkgs.glibc.static} \
              -t ${pkgs.glibc.bin} $out/bin/server
          '';
          allowedReferences = [ ];
          meta = {
            description = "Logistic-regression inference service";
            license = with lib.licenses; [ mit asl20 ];
            mainProgram = "server";
          };
        };
        # The image for another artifact: the static binary, the artifact as /model.json and
        # the licence notices at the root, nothing else (no /nix/store path: the binary has
        # no references, and files are copied, not linked). dockerTools fixes file times and
        # `created`, so two builds give the same image.
        imageFor = { artifact, name, version, sha256 }: pkgs.dockerTools.buildLayeredImage {
          name = "ml-inference-app";
          tag = "nix";
          extraCommands = ''
            cp ${server}/bin/server server
            cp ${artifact} model.json
            cp ${./LICENSE-MIT} LICENSE-MIT
            cp ${./LICENSE-APACHE} LICENSE-APACHE
            cp ${./THIRD-PARTY-NOTICES.md} THIRD-PARTY-NOTICES.md
            cp ${./licenses/glibc.md} glibc.md
          '';
          config = {
            Env = [ "MODEL_PATH=/model.json" ];
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
            Labels = labels // {
              "ml-inference-app.model.name" = name;
              "ml-inference-app.model.version" = version;
              "ml-inference-app.model.sha256" = sha256;
            };
          };
        };
      };
    in
    {
      packages = forAllSystems (pkgs:
        let
          built = build pkgs;
        in
        {
          inherit (built) server;
          default = built.server;
          # The reference wine-quality model, as the Dockerfile's default.
          image = built.imageFor {
            artifact = ./fixtures/models/wine-quality.json;
            name = "wine-quality";
            version = "1.0.0";
            sha256 = "b4f9d26340ecf0ab5ac1a08c1e4c043049c32dfd6c6f233e5bcd017ed7f8652f";
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
            pkgs.shellcheck
            pkgs.python3
            pkgs.cargo-deny
            pkgs.cargo-about
            # For the harness's static server build.
            pkgs.glibc.static
          ];
        };
      });

      # Builds the image for another artifact:
      #   nix build --impure --expr '(builtins.getFlake (toString ./.)).lib.x86_64-linux.imageFor
      #     { artifact = ./models/mine.json; name = "mine"; version = "1.0.0"; sha256 = "…"; }'
      lib = forAllSystems (pkgs: { inherit (build pkgs) imageFor; });

      formatter = forAllSystems (pkgs: pkgs.nixfmt);
    };
}
